# syntax=docker/dockerfile:1
# regiocal: multi-stage build. The runtime image holds the binary, the demo config and its
# fixtures, CA certificates and tzdata, and runs as an unprivileged user.
#
#   docker build -t regiocal .
#   docker run -p 8080:8080 regiocal                       # the demo region
#   docker run -p 8080:8080 -v $PWD/my-config:/app/config -v regiocal-data:/app/data regiocal

FROM rust:1.95-slim-bookworm AS build
# make: the jemalloc allocator is built from source (the slim image has gcc, not make).
RUN apt-get update \
    && apt-get install -y --no-install-recommends make \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependency layer: build the dependency graph once with a stub crate, so source edits do not
# rebuild every crate.
COPY Cargo.toml Cargo.lock ./
# Every [[bench]] of Cargo.toml needs a file for the manifest to load.
RUN mkdir -p src benches \
    && echo 'fn main() {}' > src/main.rs \
    && echo '' > src/lib.rs \
    && for b in $(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | tail -n +2); do \
         echo 'fn main() {}' > "benches/$b.rs"; done \
    && cargo build --release --locked \
    && rm -rf src benches
COPY src ./src
COPY benches ./benches
# The web UI's templates (compiled in by askama) and static files (embedded with include_bytes!).
COPY askama.toml ./
COPY web/templates ./web/templates
COPY web/static ./web/static
COPY web/vendor ./web/vendor
RUN touch src/main.rs src/lib.rs && cargo build --release --locked --bin regiocal

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin regiocal
WORKDIR /app
COPY --from=build /src/target/release/regiocal /usr/local/bin/regiocal
# The demo config reads ../fixtures and writes ../data relative to /app/config.
COPY config ./config
COPY fixtures ./fixtures
RUN mkdir -p /app/data && chown -R regiocal:regiocal /app/data
USER regiocal
ENV REGIOCAL_CONFIG=/app/config/regiocal.toml \
    REGIOCAL_BIND=0.0.0.0:8080
VOLUME ["/app/data"]
EXPOSE 8080
ENTRYPOINT ["regiocal"]
CMD ["serve"]
