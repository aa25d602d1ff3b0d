//! The state of a page in its URL: the filters (the same parameters as the feeds and the API),
//! the language chosen with `?lang=`, and the page size.
//!
//! Forms submit every field, also empty ones (`from=&q=`); empty values mean "no filter" here
//! and are dropped. What remains of the filter parameters, in the order given, is the page's
//! *filter query*: the subscribe links append exactly it to the feed URLs, and every link of
//! the page carries it on (with `lang` when the visitor chose one).

use super::i18n::Lang;
use crate::http::{ApiError, FILTER_PARAMETERS, parse_query};
use crate::output::Filter;

/// Why a page cannot be shown.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// A parameter has an invalid value (the message says why).
    #[error("{parameter}: {message}")]
    BadParam {
        parameter: &'static str,
        message: String,
    },
}

impl From<ApiError> for QueryError {
    fn from(e: ApiError) -> Self {
        QueryError::BadParam {
            parameter: e.parameter.unwrap_or("query"),
            message: e.message,
        }
    }
}

/// The parsed URL state of a page.
#[derive(Debug, Clone, Default)]
pub struct PageQuery {
    /// The language of the page (from `lang`, else `Accept-Language`, else German).
    pub lang: Lang,
    /// The language if the URL names it: then every link keeps it.
    pub lang_param: Option<Lang>,
    /// The filter parameters (empty values dropped), form-urlencoded.
    pub filter_query: String,
    pub filter: Filter,
    /// `limit`, when given (checked like the API's: 1 to 1000).
    pub limit: Option<usize>,
    /// The filter pairs as given, for refilling the form.
    pub pairs: Vec<(String, String)>,
}

impl PageQuery {
    /// Parses a query string; `accept_language` decides the language when `lang` is absent.
    pub fn parse(
        raw: Option<&str>,
        accept_language: Option<&str>,
    ) -> Result<PageQuery, QueryError> {
        let mut lang_param = None;
        let mut pairs = Vec::new();
        let mut limit_param = None;
        for (key, value) in crate::http::query_pairs(raw)? {
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            match key.as_str() {
                // An unknown language falls back to negotiation rather than failing the page.
                "lang" => lang_param = Lang::from_param(value).or(lang_param),
                "limit" => limit_param = Some(value.to_string()),
                k if FILTER_PARAMETERS.contains(&k) => {
                    pairs.push((k.to_string(), value.to_string()))
                }
                _ => {}
            }
        }
        let filter_query = encode(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let mut to_parse = filter_query.clone();
        if let Some(l) = &limit_param {
            let sep = if to_parse.is_empty() { "" } else { "&" };
            to_parse = format!("{to_parse}{sep}{}", encode([("limit", l.as_str())]));
        }
        let parsed = parse_query(Some(&to_parse))?;
        Ok(PageQuery {
            lang: lang_param.unwrap_or_else(|| Lang::negotiate(accept_language)),
            lang_param,
            filter_query,
            filter: parsed.filter,
            limit: parsed.limit,
            pairs,
        })
    }

    /// Whether any filter is set.
    pub fn has_filter(&self) -> bool {
        !self.filter_query.is_empty()
    }

    /// The first value of a filter parameter.
    pub fn value(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A link to `path` with this page's filters and chosen language.
    pub fn href(&self, path: &str) -> String {
        self.href_in(path, self.lang_param)
    }

    /// A link to `path` with this page's filters in a given language (the language toggle).
    pub fn href_in(&self, path: &str, lang: Option<Lang>) -> String {
        let mut q = self.filter_query.clone();
        if let Some(l) = lang {
            if !q.is_empty() {
                q.push('&');
            }
            q.push_str("lang=");
            q.push_str(l.tag());
        }
        if q.is_empty() {
            path.to_string()
        } else {
            format!("{path}?{q}")
        }
    }

    /// A link to `path` without filters, in the chosen language.
    pub fn plain_href(&self, path: &str) -> String {
        self.with_lang(path.to_string())
    }

    /// A link (that may have a query already) with the chosen language added.
    pub fn with_lang(&self, href: String) -> String {
        match self.lang_param {
            Some(l) => {
                let sep = if href.contains('?') { '&' } else { '?' };
                format!("{href}{sep}lang={}", l.tag())
            }
            None => href,
        }
    }

    /// This page's link with one more parameter (e.g. a larger `limit`).
    pub fn href_plus(&self, path: &str, key: &str, value: &str) -> String {
        let base = self.href(path);
        let sep = if base.contains('?') { '&' } else { '?' };
        format!("{base}{sep}{}", encode([(key, value)]))
    }
}

/// Form-urlencodes one value.
pub fn encode_value(v: &str) -> String {
    url::form_urlencoded::byte_serialize(v.as_bytes()).collect()
}

/// Form-urlencodes pairs.
pub fn encode<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_form_fields_are_dropped_and_links_keep_state() {
        let q = PageQuery::parse(
            Some("from=&to=2026-12-31&category=music&q=B%C3%BCrgerhaus&free=&lang=en&x=1"),
            Some("de"),
        )
        .unwrap();
        assert_eq!(q.lang, Lang::En);
        assert_eq!(
            q.filter_query,
            "to=2026-12-31&category=music&q=B%C3%BCrgerhaus"
        );
        assert_eq!(q.filter.categories, ["music"]);
        assert_eq!(q.filter.text.as_deref(), Some("Bürgerhaus"));
        assert_eq!(
            q.href("/map"),
            "/map?to=2026-12-31&category=music&q=B%C3%BCrgerhaus&lang=en"
        );
        assert_eq!(
            q.href_in("/", Some(Lang::De)),
            "/?to=2026-12-31&category=music&q=B%C3%BCrgerhaus&lang=de"
        );
        assert_eq!(q.plain_href("/sources"), "/sources?lang=en");
        assert!(
            q.href_plus("/", "limit", "100")
                .ends_with("&lang=en&limit=100")
        );
    }

    #[test]
    fn language_comes_from_the_header_without_a_parameter() {
        let q = PageQuery::parse(None, Some("en-GB,en;q=0.9")).unwrap();
        assert_eq!((q.lang, q.lang_param), (Lang::En, None));
        assert_eq!(q.href("/"), "/");
        assert!(!q.has_filter());
    }

    #[test]
    fn bad_values_name_the_parameter() {
        let e = PageQuery::parse(Some("from=gestern"), None).unwrap_err();
        assert!(matches!(
            e,
            QueryError::BadParam {
                parameter: "from",
                ..
            }
        ));
        let e = PageQuery::parse(Some("free=vielleicht"), None).unwrap_err();
        assert!(matches!(
            e,
            QueryError::BadParam {
                parameter: "free",
                ..
            }
        ));
        let e = PageQuery::parse(Some("limit=0"), None).unwrap_err();
        assert!(matches!(
            e,
            QueryError::BadParam {
                parameter: "limit",
                ..
            }
        ));
    }
}
