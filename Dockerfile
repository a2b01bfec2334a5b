# Calento in a container: build the WASM bundles and the server, then a small runtime
# image with the binary, site/, CA certificates and a non-root user.
#
#   docker build -t calento .
#   docker run -p 3000:3000 -v calento-data:/data calento
#
# The image keeps its SQLite database on the /data volume (or set DATABASE_URL to a
# postgres:// URL; compose.yaml runs both). docs/DEPLOY.md has the settings, a reverse
# proxy, backups and scaling out. These machines cannot build images; the runtime
# contract below (user, directory, environment, `calento-server health`) is tested in
# server/tests/integration/binary.rs.

FROM rust:1-trixie AS build
# Node (npm's wasm-opt, brotli) comes from Debian; the wasm32 target from rustup.
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm \
    && rm -rf /var/lib/apt/lists/* \
    && rustup target add wasm32-unknown-unknown
ENV CALENTO_TOOLCHAIN=rustup \
    CALENTO_CACHE=/cache \
    CARGO_TARGET_DIR=/src/target
WORKDIR /src
COPY . .
RUN scripts/build --release \
    && mkdir -p /out/bin \
    && cp target/release/calento-server target/release/hash.txt /out/bin/ \
    && cp -r target/site /out/site

FROM debian:trixie-slim
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ca-certificates tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin calento \
    && mkdir -p /data && chown calento:calento /data
# The binary and hash.txt (the asset names of this build) sit together.
COPY --from=build /out/bin/ /usr/local/bin/
COPY --from=build /out/site/ /app/site/
ENV CALENTO_ADDR=0.0.0.0:3000 \
    CALENTO_SITE_ROOT=/app/site \
    DATABASE_URL=sqlite:///data/calento.db \
    CALENTO_LOG=info
USER calento
WORKDIR /data
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 CMD ["calento-server", "health"]
STOPSIGNAL SIGTERM
CMD ["calento-server"]
