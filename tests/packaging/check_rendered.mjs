// check_rendered.mjs RENDERED.yaml EXPECT.yaml [RENDERED EXPECT]...: validates every object `helm template` rendered
// against the Kubernetes (and cert-manager / prometheus-operator) schemas of the pinned
// kubernetes-models packages, offline, refuses fields the API types do not have
// (unknown_fields.mjs), then asserts the properties that make the install safe.
// It does not render anything and never talks to a cluster.
//
// EXPECT.yaml (one per value set, written by hand as the oracle):
//   namespace: modelgate            release namespace
//   failurePolicy: Fail
//   timeoutSeconds: 10              what the webhook must say (the config's deadline + 2 is checked too)
//   namespaceMode: optOut | optIn
//   excludedNamespaces: [...]       exactly the NotIn list (kube-system and the release ns included)
//   label: {key, value}             the opt-out / opt-in label
//   tlsMode: auto | certManager | existingSecret
//   tlsSecret: NAME                 the Secret the pod reads tls.crt / tls.key from
//   caBundleFile: PATH              existingSecret: the PEM the caBundle must equal
//   replicas: N
//   kinds: {Kind: count}            exactly the objects rendered (hooks included)
//   modelMounts: {root: kind}       exactly the model-store mounts (pvc | hostPath | nfs | csi)
//   policyRoots: [root]             exactly the source roots the rendered policies name
//   evidenceStores: [path]          exactly the config's evidence.stores
//   trustMounted: bool              /etc/modelgate/trust is mounted
//   policyFiles: {file: PATH}       the policies ConfigMap carries these files' text
//   config: {dotted.key: value}     the server config the pod reads has these values (cache.settleInterval: 60s)
// $WORK and $ROOT in EXPECT.yaml are the environment's WORK and ROOT.
import { readFileSync } from "node:fs";
import { X509Certificate, createPrivateKey } from "node:crypto";
import { parseAllDocuments, parse as parseYaml } from "yaml";
import { fieldChecker } from "./unknown_fields.mjs";


const args = process.argv.slice(2);
if (args.length === 0 || args.length % 2 !== 0) {
  console.error("usage: node check_rendered.mjs RENDERED.yaml EXPECT.yaml [RENDERED.yaml EXPECT.yaml]...");
  process.exit(2);
}

function modulePath(apiVersion) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  if (group === "") return `kubernetes-models/${version}`;
  if (group.endsWith("cert-manager.io")) return `@kubernetes-models/cert-manager/${group}/${version}`;
  if (group === "monitoring.coreos.com") return `@kubernetes-models/prometheus-operator/${group}/${version}`;
  return `kubernetes-models/${group}/${version}`;
}

// Load every case first: the field checker compiles the declarations of all their kinds once.
const cases = [];
for (let i = 0; i < args.length; i += 2) {
  const c = { renderedPath: args[i], expectPath: args[i + 1], objects: [], failures: [], models: new Map() };
  for (const doc of parseAllDocuments(readFileSync(c.renderedPath, "utf8"))) {
    if (doc.errors.length || doc.warnings.length) {
      c.failures.push(`YAML: ${[...doc.errors, ...doc.warnings].map((e) => e.message).join("; ")}`);
      continue;
    }
    const o = doc.toJS();
    if (o !== null) c.objects.push(o);
  }
  for (const o of c.objects) {
    const id = `${o.kind}/${o.metadata?.name}`;
    let mod;
    try {
      mod = await import(modulePath(o.apiVersion));
    } catch (e) {
      c.failures.push(`${id}: no schema for apiVersion ${o.apiVersion}: ${e.message}`);
      continue;
    }
    if (typeof mod[o.kind] !== "function") {
      c.failures.push(`${id}: no schema for kind ${o.kind} in ${o.apiVersion}`);
      continue;
    }
    c.models.set(o, mod[o.kind]);
  }
  cases.push(c);
}
const fieldCheck = fieldChecker(cases.flatMap((c) => [...c.models.keys()]), modulePath);

let failedCases = 0;
for (const c of cases) {
  const { failures, checks } = runCase(c);
  if (failures.length) {
    failedCases++;
    for (const f of failures) console.error(`${c.renderedPath}: error: ${f}`);
    console.log(`FAILED ${c.renderedPath}: ${failures.length} failed, ${checks} checks run`);
  } else {
    console.log(`ok ${c.renderedPath}: ${c.objects.length} objects valid, ${checks} checks passed`);
  }
}
process.exit(failedCases ? 1 : 0);

// runCase checks one rendered file against its expect.yaml; returns the failures and the count.
function runCase({ renderedPath, expectPath, objects, failures, models }) {
  const expect = parseYaml(readFileSync(expectPath, "utf8").replaceAll("$WORK", process.env.WORK ?? "$WORK")
    .replaceAll("$ROOT", process.env.ROOT ?? "$ROOT"));
  let checks = 0;
  function check(cond, what) {
    checks++;
    if (!cond) {
      failures.push(what);
    }
  }
  // canonical: JSON with object keys sorted, so key order never matters (array order does).
  function canonical(v) {
    return JSON.stringify(v, (_, x) =>
      x && typeof x === "object" && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort()) : x);
  }
  function eq(a, b, what) {
    const sa = canonical(a);
    const sb = canonical(b);
    check(sa === sb, `${what}: expected ${sb}, found ${sa}`);
  }


  // --- schemas, and fields the API types do not have (the schemas allow them; the apiserver
  // would drop them with a warning) ------------------------------------------------------------
  check(objects.length > 0, "nothing was rendered");
  for (const [o, Model] of models) {
    try {
      new Model(o).validate();
      checks++;
    } catch (e) {
      failures.push(`${o.kind}/${o.metadata?.name}: schema: ${e.message}`);
    }
    for (const p of fieldCheck(o)) failures.push(p);
  }

  // --- helpers -----------------------------------------------------------------------------------
  const byKind = (k) => objects.filter((o) => o.kind === k);
  const isHook = (o) => Boolean(o.metadata?.annotations?.["helm.sh/hook"]);
  const one = (k, pred = () => true) => {
    const xs = byKind(k).filter(pred);
    check(xs.length === 1, `expected exactly one ${k}, found ${xs.length}`);
    return xs[0];
  };
  const matches = (selector, labels) =>
    Object.entries(selector ?? {}).every(([k, v]) => (labels ?? {})[k] === v);
  const under = (path, root) => path === root || path.startsWith(root.endsWith("/") ? root : `${root}/`);
  const b64 = (s) => Buffer.from(s, "base64").toString("utf8");

  // --- kinds -------------------------------------------------------------------------------------
  if (expect.kinds) {
    const counts = {};
    for (const o of objects) counts[o.kind] = (counts[o.kind] ?? 0) + 1;
    const sorted = (m) => Object.fromEntries(Object.entries(m).sort());
    eq(sorted(counts), sorted(expect.kinds), "rendered kinds");
  }
  for (const o of objects) {
    const l = o.metadata?.labels ?? {};
    for (const k of ["app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/managed-by"]) {
      check(l[k], `${o.kind}/${o.metadata?.name}: label ${k} is missing`);
    }
    if (!["ValidatingWebhookConfiguration", "ClusterRole", "ClusterRoleBinding"].includes(o.kind)) {  // cluster-scoped
      eq(o.metadata?.namespace, expect.namespace, `${o.kind}/${o.metadata?.name}: namespace`);
    }
  }

  // --- workload ----------------------------------------------------------------------------------
  const deploy = one("Deployment");
  const svc = one("Service");
  const vwc = one("ValidatingWebhookConfiguration");
  const pod = deploy?.spec?.template ?? {};
  const podSpec = pod.spec ?? {};
  const podLabels = pod.metadata?.labels ?? {};
  eq(deploy?.spec?.replicas, expect.replicas, "Deployment replicas");
  check(matches(deploy?.spec?.selector?.matchLabels, podLabels), "Deployment selector does not select its pods");
  check(matches(svc?.spec?.selector, podLabels), "Service selector does not select the webhook pods");
  const pdbs = byKind("PodDisruptionBudget");
  if (expect.replicas > 1) {
    check(pdbs.length === 1 && matches(pdbs[0].spec?.selector?.matchLabels, podLabels) && pdbs[0].spec?.minAvailable >= 1,
          "HA: a PodDisruptionBudget keeping at least one webhook pod is required with replicas > 1");
    const spread = (podSpec.topologySpreadConstraints ?? []).length > 0 ||
                   podSpec.affinity?.podAntiAffinity !== undefined;
    check(spread, "HA: replicas are not spread (no topologySpreadConstraints, no podAntiAffinity)");
  } else {
    eq(pdbs.length, 0, "PodDisruptionBudget with a single replica (it would block node drains)");
  }
  for (const o of objects.filter((x) => x.kind === "Pod" || x.kind === "PodDisruptionBudget")) {
    if (o.kind === "Pod") {
      check(!matches(svc?.spec?.selector, o.metadata?.labels), `Pod/${o.metadata?.name} would be selected by the webhook Service`);
    }
  }

  // Hardening.
  const psc = podSpec.securityContext ?? {};
  eq(psc.runAsNonRoot, true, "pod securityContext.runAsNonRoot");
  check(Number.isInteger(psc.runAsUser) && psc.runAsUser > 0, "pod securityContext.runAsUser must be a non-zero UID");
  eq(psc.seccompProfile?.type, "RuntimeDefault", "pod seccompProfile");
  // The token is in the pod only for the cluster-state watch, and then RBAC grants exactly
  // get/list/watch on claims, volumes and namespaces to the pod's service account, nothing more.
  const clusterState = expect.clusterState ?? true;
  eq(podSpec.automountServiceAccountToken, clusterState,
     "automountServiceAccountToken (only the cluster-state watch needs the API token)");
  const roles = byKind("ClusterRole");
  const bindings = byKind("ClusterRoleBinding");
  eq(byKind("Role").length + byKind("RoleBinding").length, 0, "namespaced RBAC (none is needed)");
  if (clusterState) {
    eq(roles.length, 1, "ClusterRoles");
    eq(JSON.stringify(roles[0]?.rules),
       JSON.stringify([{apiGroups: [""], resources: ["persistentvolumeclaims", "persistentvolumes", "namespaces"],
                        verbs: ["get", "list", "watch"]}]),
       "ClusterRole rules (exactly get/list/watch on claims, volumes, namespaces)");
    eq(bindings.length, 1, "ClusterRoleBindings");
    eq(bindings[0]?.roleRef?.name, roles[0]?.metadata?.name, "ClusterRoleBinding roleRef");
    eq(JSON.stringify(bindings[0]?.subjects),
       JSON.stringify([{kind: "ServiceAccount", name: podSpec.serviceAccountName, namespace: expect.namespace}]),
       "ClusterRoleBinding subjects (the webhook's service account only)");
  } else {
    eq(roles.length + bindings.length, 0, "ClusterRoles and bindings without clusterState");
  }
  for (const f of ["hostNetwork", "hostPID", "hostIPC"]) check(!podSpec[f], `pod ${f} must not be set`);
  const containers = [...(podSpec.initContainers ?? []), ...(podSpec.containers ?? [])];
  for (const c of containers) {
    const sc = c.securityContext ?? {};
    eq(sc.allowPrivilegeEscalation, false, `container ${c.name}: allowPrivilegeEscalation`);
    eq(sc.readOnlyRootFilesystem, true, `container ${c.name}: readOnlyRootFilesystem`);
    check(sc.privileged !== true, `container ${c.name}: privileged`);
    check((sc.capabilities?.drop ?? []).includes("ALL"), `container ${c.name}: capabilities.drop must include ALL`);
    eq(sc.capabilities?.add, undefined, `container ${c.name}: capabilities.add`);
    for (const r of ["requests", "limits"]) {
      check(c.resources?.[r]?.cpu && c.resources?.[r]?.memory, `container ${c.name}: resources.${r} cpu and memory`);
    }
  }
  const main = podSpec.containers?.[0] ?? {};
  eq(main.command, ["/usr/local/bin/modelgate"], "container command");
  eq(main.args?.[0], "serve", "container args start with serve");
  eq(main.livenessProbe?.httpGet?.path, "/healthz", "livenessProbe path");
  eq(main.readinessProbe?.httpGet?.path, "/readyz", "readinessProbe path");
  const httpsPort = (main.ports ?? []).find((p) => p.name === "https");
  check(httpsPort, "container has no port named https");

  // The config the pod reads, and the mounts it names.
  const configArg = main.args?.[(main.args ?? []).indexOf("--config") + 1];
  const mounts = main.volumeMounts ?? [];
  const volumes = Object.fromEntries((podSpec.volumes ?? []).map((v) => [v.name, v]));
  const mountOf = (path) =>
    mounts.filter((m) => under(path, m.mountPath)).sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
  const configMount = configArg ? mountOf(configArg) : undefined;
  check(configMount, `--config ${configArg} is not on any mount`);
  const configCM = configMount && byKind("ConfigMap").find((cm) => cm.metadata.name === volumes[configMount.name]?.configMap?.name);
  check(configCM, "the config ConfigMap the pod mounts is not rendered");
  const configKey = configArg?.slice(configMount?.mountPath.length + 1);
  const config = configCM ? parseYaml(configCM.data?.[configKey] ?? "") ?? {} : {};
  eq(config.kind, "ServerConfig", "config kind");
  eq(config.listen?.port, httpsPort?.containerPort, "config listen.port vs the https container port");
  eq(config.clusterState?.enabled ?? false, expect.clusterState ?? true, "config clusterState.enabled");
  for (const m of mounts) {
    if (m.mountPath !== "/tmp") eq(m.readOnly, true, `volumeMount ${m.mountPath} readOnly`);
  }

  // Webhook timeout vs the server's deadline.
  const deadline = /^(\d+)s$/.exec(String(config.deadline ?? ""));
  check(deadline, `config deadline ${config.deadline} is not whole seconds`);
  const hook = vwc?.webhooks?.[0] ?? {};
  eq(vwc?.webhooks?.length, 1, "webhooks in the configuration");
  eq(hook.timeoutSeconds, expect.timeoutSeconds, "timeoutSeconds");
  if (deadline) {
    const d = Number(deadline[1]);
    check(hook.timeoutSeconds > d && hook.timeoutSeconds <= 30,
          `timeoutSeconds ${hook.timeoutSeconds} must be > deadline ${d}s and <= 30`);
    if (expect.timeoutFromDeadline !== false) eq(hook.timeoutSeconds, d + 2, "timeoutSeconds = deadline + 2");
  }

  // TLS: the pod's files, the Service the apiserver calls, the CA it trusts.
  const tlsMount = mountOf(config.tls?.certFile ?? "/nonexistent");
  check(tlsMount && tlsMount === mountOf(config.tls?.keyFile ?? "/nonexistent"), "tls.certFile and tls.keyFile are not on one mount");
  const tlsSecretName = tlsMount && volumes[tlsMount.name]?.secret?.secretName;
  eq(tlsSecretName, expect.tlsSecret, "TLS secret the pod mounts");
  eq(hook.name, "verify.modelgate.dev", "webhook name");
  eq(hook.sideEffects, "None", "sideEffects");
  eq(hook.admissionReviewVersions, ["v1"], "admissionReviewVersions");
  eq(hook.matchPolicy, "Equivalent", "matchPolicy");
  eq(hook.failurePolicy, expect.failurePolicy, "failurePolicy");
  const ref = hook.clientConfig?.service ?? {};
  eq([ref.name, ref.namespace, ref.path], [svc?.metadata?.name, expect.namespace, "/validate"], "clientConfig.service");
  const svcPort = (svc?.spec?.ports ?? []).find((p) => p.port === ref.port);
  check(svcPort && (svcPort.targetPort === "https" || svcPort.targetPort === httpsPort?.containerPort),
        `clientConfig port ${ref.port} does not reach the container's https port`);
  const host = `${svc?.metadata?.name}.${expect.namespace}.svc`;
  const annotations = vwc?.metadata?.annotations ?? {};
  check(!annotations["helm.sh/hook"] && !annotations["helm.sh/resource-policy"],
        "the webhook configuration must be a plain release resource (deleted by helm uninstall)");
  if (expect.tlsMode === "auto") {
    const secret = byKind("Secret").find((s) => s.metadata.name === tlsSecretName);
    check(secret, `TLS Secret ${tlsSecretName} is not rendered`);
    if (secret) {
      eq(hook.clientConfig?.caBundle, secret.data["ca.crt"], "caBundle vs the Secret's ca.crt");
      const ca = new X509Certificate(b64(hook.clientConfig?.caBundle ?? ""));
      const leaf = new X509Certificate(b64(secret.data["tls.crt"]));
      check(ca.ca, "caBundle is not a CA certificate");
      check(leaf.verify(ca.publicKey) && leaf.checkIssued(ca), "serving certificate is not signed by the caBundle CA");
      check(leaf.checkPrivateKey(createPrivateKey(b64(secret.data["tls.key"]))), "tls.key does not match tls.crt");
      check((leaf.subjectAltName ?? "").split(", ").includes(`DNS:${host}`), `serving certificate lacks DNS:${host} (${leaf.subjectAltName})`);
    }
  } else if (expect.tlsMode === "certManager") {
    eq(hook.clientConfig?.caBundle, undefined, "caBundle (cainjector fills it)");
    const cert = byKind("Certificate").find((c) => c.spec?.secretName === tlsSecretName);
    check(cert, `no Certificate writes Secret ${tlsSecretName}`);
    eq(annotations["cert-manager.io/inject-ca-from"], `${expect.namespace}/${cert?.metadata?.name}`, "inject-ca-from");
    check((cert?.spec?.dnsNames ?? []).includes(host), `Certificate dnsNames lack ${host}`);
    const issuer = cert?.spec?.issuerRef ?? {};
    if (expect.issuer) {
      eq(issuer, expect.issuer, "Certificate issuerRef");
    } else {
      const ours = byKind("Issuer").find((i) => i.metadata.name === issuer.name);
      check(ours?.spec?.ca?.secretName, `Certificate issuer ${issuer.name} is not the chart's CA issuer`);
    }
  } else if (expect.tlsMode === "existingSecret") {
    eq(byKind("Secret").filter((s) => !isHook(s)).length, 0, "Secrets rendered with tls.mode=existingSecret");
    eq(b64(hook.clientConfig?.caBundle ?? ""), readFileSync(expect.caBundleFile, "utf8"), "caBundle vs the given PEM");
  }

  // Rules: pods and every pod-template kind, CREATE and UPDATE, nothing else.
  const rules = {};
  for (const r of hook.rules ?? []) {
    eq([...r.operations].sort(), ["CREATE", "UPDATE"], "rule operations");
    eq(r.scope, "Namespaced", "rule scope");
    for (const g of r.apiGroups) for (const v of r.apiVersions) for (const res of r.resources) rules[`${g}/${v}/${res}`] = true;
  }
  eq(Object.keys(rules).sort(), ["/v1/pods", "/v1/pods/ephemeralcontainers", "/v1/replicationcontrollers", "apps/v1/daemonsets", "apps/v1/deployments",
    "apps/v1/replicasets", "apps/v1/statefulsets", "batch/v1/cronjobs", "batch/v1/jobs"], "webhook rules");

  // namespaceSelector: never kube-system or the release namespace; opt-out label or opt-in label.
  const exprs = hook.namespaceSelector?.matchExpressions ?? [];
  eq(hook.namespaceSelector?.matchLabels, undefined, "namespaceSelector.matchLabels");
  const byName = exprs.filter((e) => e.key === "kubernetes.io/metadata.name");
  eq(byName.map((e) => e.operator), ["NotIn"], "namespace-name expressions");
  const excluded = byName[0]?.values ?? [];
  check(excluded.includes("kube-system"), "kube-system is not excluded");
  check(excluded.includes(expect.namespace), `the release namespace ${expect.namespace} is not excluded`);
  eq([...excluded].sort(), [...expect.excludedNamespaces].sort(), "excluded namespaces");
  const labelExprs = exprs.filter((e) => e.key !== "kubernetes.io/metadata.name");
  eq(labelExprs, [{ key: expect.label.key, operator: expect.namespaceMode === "optIn" ? "In" : "NotIn", values: [expect.label.value] }],
     `${expect.namespaceMode} label expression`);

  // Model stores: each mounted read-only, at the root its policy source names.
  const storeKinds = { persistentVolumeClaim: "pvc", hostPath: "hostPath", nfs: "nfs", csi: "csi" };
  const storeMounts = {};
  for (const m of mounts) {
    const v = volumes[m.name] ?? {};
    const kind = Object.keys(storeKinds).find((k) => v[k]);
    if (!kind || (config.evidence?.stores ?? []).includes(m.mountPath)) continue;
    storeMounts[m.mountPath] = storeKinds[kind];
    eq(m.readOnly, true, `model store ${m.mountPath}: volumeMount readOnly`);
    if (kind !== "hostPath") eq(v[kind].readOnly, true, `model store ${m.mountPath}: ${kind}.readOnly`);
    eq(m.subPath, undefined, `model store ${m.mountPath}: subPath`);
  }
  eq(storeMounts, expect.modelMounts ?? {}, "model store mounts");
  const policyRoots = new Set();
  const policiesDir = (config.policies ?? [])[0];
  if (policiesDir) {
    const pm = mountOf(policiesDir);
    const cm = pm && byKind("ConfigMap").find((c) => c.metadata.name === volumes[pm.name]?.configMap?.name);
    check(pm && volumes[pm.name]?.configMap, `policies ${policiesDir} are not mounted from a ConfigMap`);
    eq(pm?.subPath, undefined, "policies mount subPath (a subPath mount never sees updates)");
    for (const [file, text] of Object.entries(cm?.data ?? {})) {
      for (const d of parseAllDocuments(text)) {
        const p = d.toJS();
        if (p?.kind !== "ModelPolicy") continue;
        for (const s of p.spec?.sources ?? []) {
          policyRoots.add(s.root);
          check(Object.keys(storeMounts).some((r) => under(s.root, r)),
                `${file}: policy ${p.metadata?.name} source ${s.name} reads ${s.root}, which no model store mounts`);
        }
      }
    }
  }
  eq([...policyRoots].sort(), [...(expect.policyRoots ?? [])].sort(), "policy source roots");
  // Policy files reach the pod as given (blank lines' indentation aside).
  for (const [file, src] of Object.entries(expect.policyFiles ?? {})) {
    const pm = policiesDir && mountOf(policiesDir);
    const cm = pm && byKind("ConfigMap").find((c) => c.metadata.name === volumes[pm.name]?.configMap?.name);
    const norm = (t) => (t ?? "").replace(/[ \t]+$/gm, "").replace(/\n*$/, "\n");
    check(norm(cm?.data?.[file]) === norm(readFileSync(src, "utf8")), `policy file ${file} differs from ${src}`);
  }
  // Values that must reach the config file as given (the chart renders each setting it exposes).
  for (const [key, want] of Object.entries(expect.config ?? {})) {
    const found = key.split(".").reduce((o, k) => (o == null ? undefined : o[k]), config);
    eq(found ?? null, want, `config ${key}`);
  }
  eq(config.evidence?.stores ?? [], expect.evidenceStores ?? [], "evidence stores");
  for (const path of config.evidence?.stores ?? []) {
    const m = mounts.find((x) => x.mountPath === path);
    check(m && m.readOnly === true, `evidence store ${path} is not mounted read-only`);
  }
  eq(Boolean(mounts.find((m) => m.mountPath === "/etc/modelgate/trust")), Boolean(expect.trustMounted), "trust mounted");

  // helm test: it calls the same host and port the apiserver does, and trusts the same CA.
  const testPod = objects.find((o) => o.kind === "Pod" && o.metadata?.annotations?.["helm.sh/hook"] === "test");
  if (testPod) {
    const script = (testPod.spec.containers[0].args ?? []).join(" ");
    check(script.includes(`https://${host}:${ref.port}/validate`), "helm test does not call the webhook's service URL");
    check(script.includes("--cacert"), "helm test does not verify the server certificate");
  }


  return { failures, checks };
}
