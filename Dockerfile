# crosslink's image, published as crosslink/crosslink:<version> (the Helm chart's default image; tag = appVersion).
# Built from the packed npm tarball, on a Node LTS slim base; runs as a non-root user and needs no
# writable path but its git cache (mount an emptyDir at /var/cache/crosslink and one at /tmp), so the
# pod can set readOnlyRootFilesystem. test/install/package.test.ts repeats these steps outside Docker.
#   docker build -t crosslink/crosslink:0.1.0 .
#   docker run --rm crosslink/crosslink:0.1.0 --version

# Stage 1: the tarball, exactly what `npm pack` makes (prepare compiles src/ into dist/src).
FROM node:26-slim AS pack
WORKDIR /src
COPY package.json package-lock.json tsconfig.json tsconfig.build.json README.md ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY src ./src
COPY schema ./schema
COPY bin ./bin
RUN npm pack --pack-destination /tmp && mv /tmp/crosslink-*.tgz /tmp/crosslink.tgz

# Stage 2: the tarball installed with its production dependencies only.
FROM node:26-slim
COPY --from=pack /tmp/crosslink.tgz /tmp/crosslink.tgz
RUN npm install --global --omit=dev --no-audit --no-fund /tmp/crosslink.tgz \
 && rm /tmp/crosslink.tgz && npm cache clean --force \
 && mkdir -p /var/cache/crosslink && chown 65532:65532 /var/cache/crosslink
# A 1 MiB young generation: the daemon's steady work is small, and V8's default reserve (16 MiB semi-spaces)
# costs ~30 MiB of RSS. glibc malloc: 2 arenas, and freed blocks over 128 KiB returned to the system (mmap and
# trim thresholds fixed, not raised by the start-up peak of LISTs): the watched fleet of bench:daemon ends at
# 134.7 MiB instead of 159.5 (bench:daemon reads these lines and runs its image mode with them).
ENV NODE_ENV=production \
    NODE_OPTIONS=--max-semi-space-size=1 \
    MALLOC_ARENA_MAX=2 \
    MALLOC_MMAP_THRESHOLD_=131072 \
    MALLOC_TRIM_THRESHOLD_=131072 \
    CROSSLINK_CACHE_DIR=/var/cache/crosslink
USER 65532:65532
WORKDIR /var/cache/crosslink
# 8080: the webhook (--webhook-listen); 9090: /metrics, /status, /healthz, /readyz (--metrics-listen).
EXPOSE 8080 9090
ENTRYPOINT ["crosslink"]
CMD ["run"]
