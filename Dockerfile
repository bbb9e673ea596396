# nudge: one image with all three binaries (nudge-server, nudge-worker,
# nudgectl) and the default flows and templates.
#
#   make image                        (docker build -t nudge:dev . when Docker
#                                      is there, else ../shared/tools/image with
#                                      BUILDAH_FORMAT=docker: buildah's default
#                                      OCI format would drop the HEALTHCHECK)
#   docker run --rm nudge:dev nudge-server --help
#
# Layout inside the image:
#   /opt/nudge/bin/                          the binaries (on PATH)
#   /opt/nudge/share/nudge/config/           flows.json, shops.example.json
#   /opt/nudge/share/nudge/templates/<loc>/  default templates (en, el, pl)
#   /etc/nudge/shops.json                    mount your shops file here
#   /var/lib/nudge                           working dir (outbox, exports); the
#                                            only path written to, so the root
#                                            filesystem can be read-only
# Runs as uid:gid 10001:10001 (numeric, so Kubernetes' runAsNonRoot can check it).

# ---- build stage: compilers and -dev packages stay here ----
FROM debian:bookworm AS build
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        gcc make libc6-dev binutils libevent-dev libcurl4-openssl-dev libjansson-dev \
        libhiredis-dev libssl-dev libyajl-dev >/dev/null \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Sources first, defaults last: editing a template does not recompile.
COPY Makefile VERSION ./
COPY scripts scripts
COPY include include
COPY src src
COPY cmd cmd
RUN make -j"$(nproc)" WERROR=1 all
COPY config config
COPY templates templates
# `make install` copies bin/* to PREFIX/bin and config/ + templates/ to
# PREFIX/share/nudge. The binaries are stripped: the -g debug info is for
# local debugging, not for the image.
RUN make install PREFIX=/opt/nudge \
    && strip --strip-unneeded /opt/nudge/bin/* \
    && /opt/nudge/bin/nudgectl version

# ---- runtime stage: shared libraries only, no build tools ----
FROM debian:bookworm-slim
LABEL org.opencontainers.image.title="nudge" \
      org.opencontainers.image.description="Shop webhooks in, follow-up messages out (nudge-server, nudge-worker, nudgectl)"
# curl is here only for the HEALTHCHECK (it shares libcurl4 with the binaries).
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        libevent-2.1-7 libevent-pthreads-2.1-7 libcurl4 libjansson4 libhiredis0.14 libyajl2 \
        libssl3 ca-certificates tzdata curl >/dev/null \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log \
    && groupadd --gid 10001 nudge \
    && useradd --uid 10001 --gid 10001 --home-dir /var/lib/nudge \
        --no-create-home --shell /usr/sbin/nologin nudge \
    && mkdir -p /var/lib/nudge/outbox /var/lib/nudge/exports /etc/nudge \
    && chown -R 10001:10001 /var/lib/nudge
COPY --from=build /opt/nudge /opt/nudge
# Defaults for a container; each can be overridden (-e, environment:, env:).
# The binaries need a shops file and have no default for it: here it is
# /etc/nudge/shops.json, so mount yours there (it holds signing secrets, so
# it is not baked in). NUDGE_WORKER_METRICS_LISTEN stays off (the binary's
# default); deployments set it to 0.0.0.0:9090 for the workers.
ENV PATH=/opt/nudge/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    NUDGE_FLOWS_FILE=/opt/nudge/share/nudge/config/flows.json \
    NUDGE_TEMPLATES_DIR=/opt/nudge/share/nudge/templates \
    NUDGE_SHOPS_FILE=/etc/nudge/shops.json \
    NUDGE_LISTEN=0.0.0.0:8080 \
    NUDGE_OUTBOX_DIR=/var/lib/nudge/outbox \
    NUDGE_EXPORT_DIR=/var/lib/nudge/exports
USER 10001:10001
WORKDIR /var/lib/nudge
# 8080: nudge-server (webhooks, API, /healthz, /readyz, /metrics)
# 9090: nudge-worker's /healthz and /metrics when NUDGE_WORKER_METRICS_LISTEN=0.0.0.0:9090
EXPOSE 8080 9090
STOPSIGNAL SIGTERM
# Liveness of nudge-server on the port of NUDGE_LISTEN. A container running
# nudge-worker must override this (compose: healthcheck: test: curl
# http://127.0.0.1:9090/healthz; Kubernetes ignores HEALTHCHECK and uses the
# probes of deploy/k8s/), or disable it; nudgectl one-offs do not need it.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD curl -fsS -o /dev/null "http://127.0.0.1:${NUDGE_LISTEN##*:}/healthz" || exit 1
CMD ["nudge-server"]
