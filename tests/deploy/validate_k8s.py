"""Validate Kubernetes manifests offline.

Usage: validate_k8s.py CRD_DIR KUBERNETES_VERSION FILE...

Core kinds are checked by kubernetes-validate (strict: unknown fields are errors) against the
given Kubernetes version's schemas; a kind one of the CRDs in CRD_DIR defines is checked
against that CRD's openAPIV3Schema. A kind neither knows is an error. Prints one line per
document and exits non-zero if any document fails.
"""

import sys
from pathlib import Path

import jsonschema
import kubernetes_validate
import yaml


def crd_schemas(crd_dir):
    """(apiVersion, kind) -> schema, for every served version of every CRD in crd_dir."""
    schemas = {}
    for path in sorted(Path(crd_dir).glob("*.yaml")):
        for crd in yaml.safe_load_all(path.read_text()):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            group = crd["spec"]["group"]
            kind = crd["spec"]["names"]["kind"]
            for version in crd["spec"]["versions"]:
                schema = version["schema"]["openAPIV3Schema"]
                schemas[(f"{group}/{version['name']}", kind)] = schema
    return schemas


def check(document, schemas, kubernetes_version):
    """None if the document is valid, else why not."""
    key = (document.get("apiVersion"), document.get("kind"))
    if key in schemas:
        validator = jsonschema.Draft7Validator(schemas[key])
        errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
        if errors:
            return "; ".join(f"{'/'.join(map(str, e.path)) or '(root)'}: {e.message}" for e in errors)
        return None
    try:
        kubernetes_validate.validate(document, kubernetes_version, strict=True)
    except kubernetes_validate.ValidationError as e:
        return f"{'/'.join(map(str, e.path)) or '(root)'}: {e.message}"
    except kubernetes_validate.SchemaNotFoundError:
        return f"no schema for {key[0]} {key[1]} in Kubernetes {kubernetes_version} or the CRDs"
    return None


def main():
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    crd_dir, kubernetes_version, files = sys.argv[1], sys.argv[2], sys.argv[3:]
    schemas = crd_schemas(crd_dir)
    failed = 0
    for name in files:
        for index, document in enumerate(yaml.safe_load_all(Path(name).read_text())):
            if document is None:
                continue
            label = f"{name} #{index} {document.get('kind')} {document.get('metadata', {}).get('name')}"
            problem = check(document, schemas, kubernetes_version)
            if problem:
                failed += 1
                print(f"INVALID {label}: {problem}")
            else:
                print(f"valid {label}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
