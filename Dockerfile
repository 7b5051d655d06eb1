# modelgate image: build on Debian bookworm with the same setup script as the README, run on
# bookworm-slim with only the runtime libraries, as a non-root user.
FROM debian:bookworm AS build
WORKDIR /src
COPY . .
RUN scripts/setup.sh && scripts/build.sh /build -DMODELGATE_BUILD_TESTS=OFF -DMODELGATE_BUILD_BENCH=OFF \
    && strip /build/admission/modelgate

FROM debian:bookworm-slim
RUN apt-get update -qq \
    && apt-get install -y -qq --no-install-recommends libssl3 libyaml-cpp0.7 libre2-9 \
       libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 65532 --no-create-home --shell /usr/sbin/nologin modelgate
COPY --from=build /build/admission/modelgate /usr/local/bin/modelgate
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/modelgate"]
CMD ["--help"]
