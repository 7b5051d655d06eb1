// unknown_fields.mjs: finds fields a Kubernetes object carries that its API type does not have.
// The kubernetes-models validators follow the OpenAPI schemas, which allow unknown fields, and the
// apiserver drops them with only a warning; so a misspelt `readOnlyRootFileSystem` would silently
// leave a pod unhardened. The field lists come from the same pinned packages' TypeScript
// declarations (one interface per API type), read with the TypeScript compiler. Shape only: types
// and required fields are the validators' job.
import ts from "typescript";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

// fieldChecker(kinds, modulePath) -> check(object) -> ["Kind/name: unknown field spec.x.bogus", ...].
// `kinds` lists every {apiVersion, kind} that will be checked (the declarations are compiled once);
// `modulePath(apiVersion)` names the package module of an apiVersion (as check_rendered.mjs does).
// Throws when a kind has no declarations.
export function fieldChecker(kinds, modulePath) {
  const entry = join(here, "__unknown_fields_entry.ts");
  const keys = [...new Set(kinds.map((k) => `${k.apiVersion} ${k.kind}`))];
  const lines = keys.map((key, i) => {
    const [apiVersion, kind] = key.split(" ");
    return `import type { I${kind} as T${i} } from "${modulePath(apiVersion)}/${kind}";\nexport declare const v${i}: T${i};`;
  });
  const options = {
    module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022, noEmit: true, skipLibCheck: true, types: [],
  };
  const host = ts.createCompilerHost(options);
  const source = lines.join("\n");
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (f, lang, ...rest) =>
    f === entry ? ts.createSourceFile(f, source, lang) : getSourceFile.call(host, f, lang, ...rest);
  host.fileExists = (f) => f === entry || fileExists.call(host, f);
  host.readFile = (f) => (f === entry ? source : readFile.call(host, f));
  const program = ts.createProgram([entry], options, host);
  const checker = program.getTypeChecker();
  const sf = program.getSourceFile(entry);
  const diags = ts.getPreEmitDiagnostics(program).filter((d) => d.file === sf);
  if (diags.length) {
    throw new Error(diags.map((d) => ts.flattenDiagnosticMessageText(d.messageText, " ")).join("; "));
  }
  const decls = new Map();
  sf.statements.filter(ts.isVariableStatement).forEach((st, i) => decls.set(keys[i], st.declarationList.declarations[0]));

  // The parts of a type an object value may be: drop undefined/null, split unions.
  const parts = (t) => (t.isUnion() ? t.types : [t]).filter(
    (x) => !(x.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Null)));
  const walk = (value, type, path, where, problems) => {
    if (value === null || typeof value !== "object") return;
    const ts_ = parts(type);
    if (Array.isArray(value)) {
      const elem = ts_.map((t) => checker.getIndexTypeOfType(t, ts.IndexKind.Number)).find(Boolean);
      if (elem) value.forEach((v, i) => walk(v, elem, `${path}[${i}]`, where, problems));
      return;
    }
    const objectTypes = ts_.filter((t) => t.flags & ts.TypeFlags.Object);
    if (objectTypes.length === 0) return;
    // A map ({[key: string]: T}) takes any key; walk its values.
    const index = objectTypes.map((t) => checker.getIndexTypeOfType(t, ts.IndexKind.String)).find(Boolean);
    for (const [k, v] of Object.entries(value)) {
      const prop = objectTypes.map((t) => t.getProperty(k)).find(Boolean);
      const sub = path ? `${path}.${k}` : k;
      if (prop) {
        walk(v, checker.getTypeOfSymbolAtLocation(prop, where), sub, where, problems);
      } else if (index) {
        walk(v, index, sub, where, problems);
      } else if (objectTypes.every((t) => checker.getPropertiesOfType(t).length > 0)) {
        problems.push(sub);
      }
    }
  };
  return (o) => {
    const decl = decls.get(`${o.apiVersion} ${o.kind}`);
    const problems = [];
    walk(o, checker.getTypeAtLocation(decl), "", decl, problems);
    return problems.map((p) => `${o.kind}/${o.metadata?.name}: unknown field ${p}`);
  };
}
