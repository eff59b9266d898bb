// Validates every document of the given YAML files against the Kubernetes OpenAPI schema of its
// apiVersion and kind (kubernetes-models: JSON schemas generated from Kubernetes' OpenAPI spec,
// checked with ajv: types, required fields, formats such as quantities and int-or-string).
// Prints one JSON array: {file, index, apiVersion, kind, name, ok, errors}. Exit code 0 when it
// could check every document, valid or not; 2 on a usage or parse error.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node validate.mjs <manifest.yaml>...");
  process.exit(2);
}

// apiVersion "v1" is the core group; "apps/v1" and "networking.k8s.io/v1" are modules of their own.
async function modelFor(apiVersion, kind) {
  const module = await import(`kubernetes-models/${apiVersion}`).catch(() => null);
  return module?.[kind] ?? null;
}

const results = [];
for (const file of files) {
  const documents = parseAllDocuments(readFileSync(file, "utf8"));
  for (const [index, document] of documents.entries()) {
    if (document.errors.length > 0) {
      console.error(`${file}: document ${index}: ${document.errors.map((e) => e.message).join("; ")}`);
      process.exit(2);
    }

    const object = document.toJS();
    if (object === null) {
      continue;
    }

    const result = { file, index, apiVersion: object.apiVersion, kind: object.kind, name: object.metadata?.name ?? null, ok: false, errors: [] };
    const Model = await modelFor(object.apiVersion, object.kind);
    if (Model === null) {
      result.errors.push(`no schema for apiVersion ${object.apiVersion} kind ${object.kind}`);
    } else {
      try {
        new Model(object).validate();
        result.ok = true;
      } catch (error) {
        result.errors.push(error.message);
      }
    }

    results.push(result);
  }
}

process.stdout.write(JSON.stringify(results));
