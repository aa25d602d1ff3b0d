//! `[web]` in the config: the map tiles and the public address of the web UI.
//!
//! ```toml
//! [web]
//! tile_url = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"   # the default
//! tile_attribution = "© OpenStreetMap contributors"             # shown on every map
//! tile_attribution_url = "https://www.openstreetmap.org/copyright"
//! base_url = "https://kalender.musterstadt.de"   # optional; else taken from the request
//! ```

use serde::Deserialize;

/// OpenStreetMap's standard tiles (their tile usage policy asks for the attribution below).
pub const DEFAULT_TILE_URL: &str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png";
pub const DEFAULT_TILE_ATTRIBUTION: &str = "© OpenStreetMap contributors";
pub const DEFAULT_TILE_ATTRIBUTION_URL: &str = "https://www.openstreetmap.org/copyright";

/// Settings of the web UI.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebConfig {
    /// Serve the web pages and the embed (the feeds and the API are served either way).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Map tile URL template with `{z}`, `{x}`, `{y}` (and optionally `{s}`, `{r}`).
    #[serde(default = "default_tile_url")]
    pub tile_url: String,
    /// Attribution text shown on every map (plain text).
    #[serde(default = "default_tile_attribution")]
    pub tile_attribution: String,
    /// Where the attribution links to.
    #[serde(default = "default_tile_attribution_url")]
    pub tile_attribution_url: String,
    /// The public address of the daemon (scheme and host, no path), for the absolute links of
    /// the subscribe box and the embed snippet. Without it they are built from the request's
    /// `Host` (and `X-Forwarded-Proto`).
    #[serde(default)]
    pub base_url: Option<String>,
}

fn yes() -> bool {
    true
}
fn default_tile_url() -> String {
    DEFAULT_TILE_URL.into()
}
fn default_tile_attribution() -> String {
    DEFAULT_TILE_ATTRIBUTION.into()
}
fn default_tile_attribution_url() -> String {
    DEFAULT_TILE_ATTRIBUTION_URL.into()
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            enabled: true,
            tile_url: default_tile_url(),
            tile_attribution: default_tile_attribution(),
            tile_attribution_url: default_tile_attribution_url(),
            base_url: None,
        }
    }
}

impl WebConfig {
    /// Checks the values; an error names the key.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        let tile = self.tile_url.trim();
        if !["{z}", "{x}", "{y}"].iter().all(|p| tile.contains(p)) {
            return Err((
                "web.tile_url",
                format!("{tile:?} must contain {{z}}, {{x}} and {{y}}"),
            ));
        }
        // `{s}` stands for a subdomain letter; check the URL with one filled in.
        if super::safe::http_url(&tile.replace("{s}", "a")).is_none() {
            return Err((
                "web.tile_url",
                format!("{tile:?} is not an http(s) URL template"),
            ));
        }
        if self.tile_attribution.trim().is_empty() {
            return Err((
                "web.tile_attribution",
                "must not be empty (tile providers require it)".into(),
            ));
        }
        if super::safe::http_url(&self.tile_attribution_url).is_none() {
            return Err((
                "web.tile_attribution_url",
                format!("{:?} is not an http(s) URL", self.tile_attribution_url),
            ));
        }
        if let Some(base) = &self.base_url {
            let ok = url::Url::parse(base).ok().filter(|u| {
                matches!(u.scheme(), "http" | "https")
                    && u.host().is_some()
                    && (u.path() == "/" || u.path().is_empty())
                    && u.query().is_none()
                    && u.fragment().is_none()
            });
            if ok.is_none() {
                return Err((
                    "web.base_url",
                    format!(
                        "{base:?} must be an http(s) address without path or query, e.g. https://kalender.example.org"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// `base_url` without a trailing slash.
    pub fn base(&self) -> Option<&str> {
        self.base_url.as_deref().map(|b| b.trim_end_matches('/'))
    }

    /// The origin the tiles come from, for the Content-Security-Policy (`{s}` becomes `*`).
    pub fn tile_origin(&self) -> String {
        let template = self.tile_url.trim().replace("{s}", "tile-subdomain");
        match url::Url::parse(&template) {
            Ok(u) => {
                let host = u
                    .host_str()
                    .unwrap_or_default()
                    .replace("tile-subdomain", "*");
                match u.port() {
                    Some(p) => format!("{}://{host}:{p}", u.scheme()),
                    None => format!("{}://{host}", u.scheme()),
                }
            }
            Err(_) => String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_name_their_key() {
        assert!(WebConfig::default().validate().is_ok());
        let bad = |f: fn(&mut WebConfig)| {
            let mut c = WebConfig::default();
            f(&mut c);
            c.validate().unwrap_err().0
        };
        assert_eq!(
            bad(|c| c.tile_url = "https://t.example/{z}/{x}.png".into()),
            "web.tile_url"
        );
        assert_eq!(
            bad(|c| c.tile_url = "javascript:{z}{x}{y}".into()),
            "web.tile_url"
        );
        assert_eq!(
            bad(|c| c.tile_attribution_url = "ftp://x".into()),
            "web.tile_attribution_url"
        );
        assert_eq!(
            bad(|c| c.base_url = Some("https://k.example/kalender".into())),
            "web.base_url"
        );
        let mut c = WebConfig {
            base_url: Some("https://k.example/".into()),
            ..Default::default()
        };
        assert!(c.validate().is_ok());
        assert_eq!(c.base(), Some("https://k.example"));
        c.tile_url = "https://{s}.tiles.example:8443/{z}/{x}/{y}.png".into();
        assert!(c.validate().is_ok());
        assert_eq!(c.tile_origin(), "https://*.tiles.example:8443");
        assert_eq!(
            WebConfig::default().tile_origin(),
            "https://tile.openstreetmap.org"
        );
    }
}
