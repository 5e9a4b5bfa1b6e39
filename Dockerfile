# syntax=docker/dockerfile:1
# One image with every gridline binary: the five services, grid-console with its page,
# grid-webhooks, gridctl.
#
#   docker build -t gridline:0.1.0 .
#   docker run --rm gridline:0.1.0 gridctl --help
#
# Three stages on Debian bookworm: the C++ build with the packages of deploy/local/install-deps
# (--build: what the build needs, nothing for tests), the console's page with Node.js (Vite 7
# needs Node.js 20.19 or later, newer than bookworm's), and the runtime with only the shared
# libraries the binaries load. tests/deploy checks that every COPY source exists and that the
# runtime's packages provide every library the binaries need (deploy/k8s/README.md).

FROM debian:bookworm AS build
COPY deploy/local/install-deps /usr/local/sbin/install-deps
RUN /usr/local/sbin/install-deps --build
WORKDIR /src
COPY CMakeLists.txt ./
COPY cmake cmake
COPY proto proto
COPY common common
COPY services services
COPY tools tools
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
 && cmake --build build --target grid-intake grid-routing grid-escalation grid-metrics \
      grid-gateway grid-console grid-webhooks gridctl

FROM node:22-bookworm-slim AS web
WORKDIR /web
COPY services/console/web/package.json services/console/web/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY services/console/web ./
RUN npx --no-install tsc --noEmit && npx --no-install vite build --logLevel warn

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
      libgrpc++1.51 libprotobuf32 libabsl20220623 libhiredis0.14 libjwt0 \
      libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0 libspdlog1.10 libfmt9 libssl3 \
 && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 gridline \
 && useradd --system --uid 10001 --gid gridline --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin gridline
COPY --from=build /src/build/bin/grid-intake /src/build/bin/grid-routing \
     /src/build/bin/grid-escalation /src/build/bin/grid-metrics /src/build/bin/grid-gateway \
     /src/build/bin/grid-console /src/build/bin/grid-webhooks /src/build/bin/gridctl \
     /usr/local/bin/
# The layout of the repository, so that the flags' defaults (deploy/config/..., the console's
# services/console/web/dist) work from the working directory as they do in a checkout.
WORKDIR /opt/gridline
COPY deploy/config deploy/config
COPY --from=web /web/dist services/console/web/dist
USER 10001:10001
# gRPC: gateway 7070, intake 7071, routing 7072, escalation 7073, metrics 7074, webhooks 7075;
# console HTTP 7080; /metrics 9101-9107 (README, "The services"). Services listen on 127.0.0.1
# unless --listen says.
EXPOSE 7070 7071 7072 7073 7074 7075 7080 9101 9102 9103 9104 9105 9106 9107
CMD ["gridctl", "--help"]
