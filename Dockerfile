# syntax=docker/dockerfile:1
# Build: everything (TypeScript, web bundle) with dev dependencies.
FROM node:24-bookworm-slim@sha256:235600a8101ab264e117b1768e925532262668dc9b581ef1dd7d96ced463b8e7 AS build
WORKDIR /app
COPY package.json package-lock.json ./
# The image already has Node 24: the embedded servers' install scripts are
# not needed here (the pinned Node binary is an optional dependency too).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm run build

# Runtime: production dependencies, Debian's security-maintained ffmpeg
# (not the npm fallback), util-linux for prlimit and setpriv, bubblewrap to
# sandbox ffmpeg (it needs user namespaces: see SECURITY.md), a non-root user.
FROM node:24-bookworm-slim@sha256:235600a8101ab264e117b1768e925532262668dc9b581ef1dd7d96ced463b8e7 AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg util-linux bubblewrap tini ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production HOST=0.0.0.0 PORT=4000 FFMPEG_PATH=/usr/bin/ffmpeg
COPY package.json package-lock.json ./
# Optional dependencies are the embedded PostgreSQL/S3 and the fallback ffmpeg
# of `npm start` on a bare machine: production uses real services and Debian's ffmpeg.
RUN npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
USER node
EXPOSE 4000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||4000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["tini", "--", "node", "dist/src/main.js"]
CMD ["--role", "all"]
