// fake_apiserver.mjs SECRETS.json PORTFILE: the few read-only Kubernetes API answers that
// `helm template --dry-run=server` needs so the chart's `lookup` calls see Secrets, nothing more:
// /version, discovery of core v1, and GET of the Secrets in SECRETS.json (a list of Secret objects;
// anything else is 404). Listens on 127.0.0.1, a free port written to PORTFILE; exits on SIGTERM.
// It lets package_test.sh check that upgrades keep the generated TLS material without a cluster.
import { createServer } from "node:http";
import { readFileSync, writeFileSync } from "node:fs";

const [secretsPath, portFile] = process.argv.slice(2);
const json = (res, code, body) => {
  res.writeHead(code, { "Content-Type": "application/json" });
  res.end(JSON.stringify(body));
};
const notFound = (res, what) =>
  json(res, 404, { kind: "Status", apiVersion: "v1", status: "Failure", reason: "NotFound", code: 404,
                   message: `${what} not found` });

const server = createServer((req, res) => {
  const path = new URL(req.url, "http://x").pathname;
  if (req.method !== "GET") return json(res, 405, { kind: "Status", code: 405 });
  if (path === "/version") {
    return json(res, 200, { major: "1", minor: "32", gitVersion: "v1.32.0", platform: "linux/amd64" });
  }
  if (path === "/api") return json(res, 200, { kind: "APIVersions", versions: ["v1"], serverAddressByClientCIDRs: [] });
  if (path === "/apis") return json(res, 200, { kind: "APIGroupList", apiVersion: "v1", groups: [] });
  if (path === "/api/v1") {
    return json(res, 200, { kind: "APIResourceList", groupVersion: "v1", resources: [
      { name: "secrets", singularName: "secret", namespaced: true, kind: "Secret", verbs: ["get", "list"] }] });
  }
  const m = /^\/api\/v1\/namespaces\/([^/]+)\/secrets\/([^/]+)$/.exec(path);
  if (m) {
    const secrets = JSON.parse(readFileSync(secretsPath, "utf8"));
    const s = secrets.find((x) => x.metadata.namespace === m[1] && x.metadata.name === m[2]);
    return s ? json(res, 200, s) : notFound(res, `secrets "${m[2]}"`);
  }
  return notFound(res, path);
});
server.listen(0, "127.0.0.1", () => writeFileSync(portFile, String(server.address().port)));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
