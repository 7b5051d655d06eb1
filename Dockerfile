# modelgate image. Build stage: Debian bookworm with the README's setup script, the project built
# the way scripts/build.sh builds it (tests and benchmarks off). Runtime stage: bookworm-slim with
# only the shared libraries the binary links (found by ldd, mapped to packages by dpkg), as a
# non-root user, entrypoint `modelgate serve`. No network access at run time is needed or used.
#
#   podman build --isolation chroot -t modelgate .        (scripts/image_test.sh builds and runs it)

# The toolchain: the package layer changes only when setup.sh does. A stage of its own so that CI
# can build it while the host compiles (scripts/image_test.sh --prepare), the downloads overlapping.
FROM debian:bookworm AS toolchain
ENV DEBIAN_FRONTEND=noninteractive
WORKDIR /src
COPY scripts/setup.sh scripts/setup.sh
RUN scripts/setup.sh && rm -rf /var/lib/apt/lists/*

FROM toolchain AS build
COPY . .
# The compiler cache: a build cache mount by default, so a rebuild after a small change recompiles
# only that change. scripts/image_test.sh (CI) instead mounts the cache its host build has just
# filled (podman build -v ...:/ccache --build-arg MODELGATE_CCACHE_DIR=/ccache): the same sources,
# the same Debian gcc and the same flags, so ccache hands back the objects the host compiled rather
# than compiling everything a second time. It reuses an object only when the source, every header,
# the flags and the compiler binary (compiler_check=content) hash the same; base_dir=/src and the
# build tree at /src/build make the paths the same as the host's ($ROOT, $ROOT/build), and
# hash_dir=false leaves the working directory (only in the debug info, stripped below) out. ccache
# hashes the locale too: LANG as scripts/test.sh sets it. And the Debian -dev headers must be the
# versions the host has (on a fresh CI machine both come from the same mirror minutes apart).
ARG MODELGATE_CCACHE_DIR=/root/.cache/ccache
RUN --mount=type=cache,target=/root/.cache/ccache \
    CCACHE_DIR="$MODELGATE_CCACHE_DIR" CCACHE_BASEDIR=/src CCACHE_NOHASHDIR=1 CCACHE_COMPILERCHECK=content \
    CCACHE_DEPEND=1 CCACHE_STATSLOG=/tmp/ccache-stats.log LANG=C.UTF-8 \
    scripts/build.sh /src/build -DMODELGATE_BUILD_TESTS=OFF -DMODELGATE_BUILD_BENCH=OFF \
      -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache \
    && echo "ccache (this build): $(CCACHE_STATSLOG=/tmp/ccache-stats.log ccache --show-log-stats | tr -s ' \n' ' ')" \
    && install -D -m 0755 -s /src/build/admission/modelgate /out/usr/local/bin/modelgate \
    && for lib in $(ldd /out/usr/local/bin/modelgate | awk '$2 == "=>" && $3 ~ /^\// { print $3 }'); do \
         dpkg -S "$lib" 2>/dev/null || dpkg -S "/usr$lib" 2>/dev/null || dpkg -S "${lib#/usr}" \
           || { echo "no Debian package owns $lib" >&2; exit 1; }; \
       done | cut -d: -f1 | sort -u >/out/runtime-packages \
    && echo "runtime packages: $(tr '\n' ' ' </out/runtime-packages)"

FROM debian:bookworm-slim
ARG MODELGATE_VERSION=0.1.0
LABEL org.opencontainers.image.title="modelgate" \
      org.opencontainers.image.description="Validating admission webhook that admits only signed, approved ML models" \
      org.opencontainers.image.version="${MODELGATE_VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /out/runtime-packages /tmp/runtime-packages
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(cat /tmp/runtime-packages) >/dev/null \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /tmp/runtime-packages \
    && groupadd --system --gid 65532 modelgate \
    && useradd --system --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent \
         --shell /usr/sbin/nologin modelgate \
    && mkdir -p /etc/modelgate/config /etc/modelgate/tls /etc/modelgate/policies /etc/modelgate/trust
COPY --from=build /out/usr/local/bin/modelgate /usr/local/bin/modelgate
# Every library resolves (a missing one fails the build here, not in the cluster).
RUN ! ldd /usr/local/bin/modelgate | grep -q 'not found' && /usr/local/bin/modelgate --help >/dev/null
USER 65532:65532
EXPOSE 8443 9090
ENTRYPOINT ["/usr/local/bin/modelgate", "serve"]
CMD ["--config", "/etc/modelgate/config/config.yaml"]
