// Validate Kubernetes objects with the kubernetes-models JSON-schema validators.
// Used by tests/test_manifests.py, which also type-checks the same objects with TypeScript against the
// packages' interfaces (the validators let unknown fields through; TypeScript's excess-property check
// does not).
//
//   node validate.mjs <input.json>
// input: [{"id": "...", "module": "@kubernetes-models/knative/serving.knative.dev/v1/Service",
//          "kind": "Service", "object": {...}}, ...]
// stdout: {"<id>": ["error", ...], ...}   (an empty list = valid)
import { readFileSync } from "node:fs";

const items = JSON.parse(readFileSync(process.argv[2], "utf8"));
const results = {};
for (const item of items) {
  try {
    const module = await import(item.module);
    const Model = module[item.kind];
    if (typeof Model !== "function") {
      results[item.id] = [`${item.module} exports no model ${item.kind}`];
      continue;
    }
    new Model(item.object).validate();
    results[item.id] = [];
  } catch (error) {
    results[item.id] = [String(error && error.message ? error.message : error)];
  }
}
process.stdout.write(JSON.stringify(results));
