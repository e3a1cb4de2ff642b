# crosslink daemon image: multi-stage, Node LTS slim, non-root, read-only root filesystem friendly.
# Build: docker build -t crosslink .   Run: see examples/deploy/ and docs/daemon.md.
FROM node:26-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.json ./
COPY src ./src
COPY schema ./schema
COPY bin ./bin
RUN npx tsc -p tsconfig.json --outDir dist --rootDir . \
 && npm prune --omit=dev --ignore-scripts

FROM node:26-slim
ENV NODE_ENV=production \
    CROSSLINK_LISTEN=0.0.0.0:8080 \
    CROSSLINK_CACHE_DIR=/var/cache/crosslink
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist/src ./dist/src
COPY --from=build /src/schema ./schema
COPY --from=build /src/bin ./bin
# The only writable path the daemon needs is the git cache (mount an emptyDir there; /tmp too).
RUN mkdir -p /var/cache/crosslink && chown 65532:65532 /var/cache/crosslink
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["node", "/app/bin/crosslink.js"]
CMD ["run"]
