"""Python half of json_schema_test: Draft202012Validator (jsonschema) over a corpus of schemas
and instances. Prints one JSON list per case: true/false per instance."""
import json
import sys

import jsonschema

with open(sys.argv[1], encoding="utf-8") as f:
    corpus = json.load(f)
out = []
for case in corpus:
    jsonschema.Draft202012Validator.check_schema(case["schema"])
    v = jsonschema.Draft202012Validator(case["schema"])
    out.append([v.is_valid(i) for i in case["instances"]])
print(json.dumps(out))
