#!/usr/bin/env python3
"""Checks META.json against the PGXN Meta Spec v1.0.0 (https://pgxn.org/spec/):
its required fields and their types, and that every place that names the
version or the licence says the same thing:

- version: irp_batch.control's default_version is the truth; META.json's
  version and provides version (as SemVer, which PGXN requires: 1.2 is 1.2.0),
  debian/changelog's newest entry (1.2-N) and clients/python/pyproject.toml
  must agree with it, so a version bump fails here until all are updated;
- licence: the PostgreSQL License, in LICENSE, the control file, META.json
  ("postgresql"), debian/copyright and pyproject.toml.

Usage: test/meta.py [TOP]   (TOP: the repository, default the folder above this
one). Needs only Python 3's standard library. Prints TAP ("ok N - ...",
"not ok N - ...", "1..N") and exits non-zero if anything failed.
"""
import json
import os
import re
import sys

TOP = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
EXTENSION = "irp_batch"

# SemVer 1.0.0 (a pre-release tag appended: 1.0.0beta1), and the 2.0.0 form
# (1.0.0-beta.1), which PGXN also accepts.
SEMVER = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-?[0-9A-Za-z][0-9A-Za-z.-]*)?$")
# A version range of the spec's prereqs: "1.2.0", or ">= 1.2.0, < 2.0.0", or "0" (any).
RANGE_PART = re.compile(r"^(?:(==|!=|>=|<=|>|<)\s*)?(\S+)$")
SPEC_KEYS = {"name", "abstract", "description", "version", "maintainer", "license", "provides",
             "prereqs", "release_status", "resources", "tags", "no_index", "generated_by", "meta-spec"}
LICENSES = {"agpl_3", "apache_1_1", "apache_2_0", "artistic_1", "artistic_2", "bsd", "freebsd", "gfdl_1_2",
            "gfdl_1_3", "gpl_1", "gpl_2", "gpl_3", "lgpl_2_1", "lgpl_3_0", "mit", "mozilla_1_0",
            "mozilla_1_1", "openssl", "perl_5", "postgresql", "qpl_1_0", "ssleay", "sun", "zlib",
            "open_source", "restricted", "unrestricted", "unknown"}

results = []


def check(ok, description, diagnostic=""):
    results.append((bool(ok), description, diagnostic))


def read(path):
    try:
        with open(os.path.join(TOP, path), encoding="utf-8") as f:
            return f.read()
    except OSError as e:
        return f"<unreadable: {e}>"


def semver(version):
    """A control file version (1.2) as SemVer (1.2.0)."""
    parts = version.split(".")
    return ".".join(parts + ["0"] * (3 - len(parts))) if len(parts) < 3 and all(p.isdigit() for p in parts) else version


def is_range(value):
    if value == 0 or value == "0":
        return True
    if not isinstance(value, str):
        return False
    for part in value.split(","):
        m = RANGE_PART.match(part.strip())
        if not m or not SEMVER.match(m.group(2)):
            return False
    return True


control = read(f"{EXTENSION}.control")
m = re.search(r"^default_version\s*=\s*'([^']+)'", control, re.M)
default_version = m.group(1) if m else None
check(default_version, f"{EXTENSION}.control has a default_version ({default_version})")
expected = semver(default_version or "")

# META.json: JSON, the spec's fields, their types.
try:
    meta = json.loads(read("META.json"))
    ok = isinstance(meta, dict)
except ValueError as e:
    meta, ok = {}, False
    check(False, "META.json is a JSON object", str(e))
else:
    check(ok, "META.json is a JSON object")
    meta = meta if ok else {}

missing = [k for k in ("name", "abstract", "version", "maintainer", "license", "provides", "meta-spec") if k not in meta]
check(not missing, "META.json has every required field: name, abstract, version, maintainer, license, provides, meta-spec",
      f"missing: {', '.join(missing)}")
unknown = [k for k in meta if k not in SPEC_KEYS and not k.lower().startswith("x_")]
check(not unknown, "META.json has no field the spec does not know (custom ones start with x_)", f"unknown: {unknown}")
spec = meta.get("meta-spec")
check(isinstance(spec, dict) and spec.get("version") == "1.0.0", "META.json's meta-spec version is 1.0.0", repr(spec))
check(meta.get("name") == EXTENSION, f"META.json's name is {EXTENSION}", repr(meta.get("name")))
check(isinstance(meta.get("abstract"), str) and meta["abstract"].strip(), "META.json's abstract is a non-empty string",
      repr(meta.get("abstract")))
maintainer = meta.get("maintainer")
check((isinstance(maintainer, str) and maintainer.strip())
      or (isinstance(maintainer, list) and maintainer and all(isinstance(x, str) and x.strip() for x in maintainer)),
      "META.json's maintainer is a string or a list of strings", repr(maintainer))
version = meta.get("version")
check(isinstance(version, str) and SEMVER.match(version), "META.json's version is a semantic version", repr(version))
check(version == expected,
      f"META.json's version is the control file's default_version {default_version} (as SemVer: {expected})",
      f"META.json says {version!r}: update it, and provides.{EXTENSION}.version, to {expected!r}")
status = meta.get("release_status", "stable")
check(status in ("stable", "testing", "unstable"), "META.json's release_status is stable, testing or unstable", repr(status))
tags = meta.get("tags", [])
check(isinstance(tags, list) and all(isinstance(t, str) and 0 < len(t) <= 255 for t in tags),
      "META.json's tags are strings of 1 to 255 characters", repr(tags))

provides = meta.get("provides")
problems = []
if not isinstance(provides, dict) or not provides:
    problems.append("provides must be an object naming at least one extension")
else:
    for name, p in provides.items():
        if not isinstance(p, dict):
            problems.append(f"{name}: not an object")
            continue
        if not (isinstance(p.get("version"), str) and SEMVER.match(p["version"])):
            problems.append(f"{name}: version {p.get('version')!r} is not a semantic version")
        for key in ("file", "docfile"):
            if key in p and not os.path.isfile(os.path.join(TOP, p[key])):
                problems.append(f"{name}: {key} {p[key]!r} does not exist")
check(not problems, "META.json's provides: each extension has a SemVer version, and its files exist", "\n".join(problems))
provided = (provides or {}).get(EXTENSION, {}) if isinstance(provides, dict) else {}
check(isinstance(provided, dict) and provided.get("version") == expected,
      f"META.json provides {EXTENSION} at version {expected}", repr(provided))

prereqs = meta.get("prereqs", {})
problems = []
if not isinstance(prereqs, dict):
    problems.append("prereqs must be an object")
else:
    for phase, relations in prereqs.items():
        if phase not in ("configure", "build", "test", "runtime", "develop"):
            problems.append(f"unknown phase {phase!r}")
        elif not isinstance(relations, dict):
            problems.append(f"{phase}: not an object")
        else:
            for relation, requirements in relations.items():
                if relation not in ("requires", "recommends", "suggests", "conflicts"):
                    problems.append(f"{phase}: unknown relation {relation!r}")
                elif not isinstance(requirements, dict):
                    problems.append(f"{phase}.{relation}: not an object")
                else:
                    problems += [f"{phase}.{relation}.{k}: {v!r} is not a version range"
                                 for k, v in requirements.items() if not is_range(v)]
check(not problems, "META.json's prereqs: known phases and relations, version ranges", "\n".join(problems))
postgres = (((prereqs if isinstance(prereqs, dict) else {}).get("runtime") or {}).get("requires") or {}).get("PostgreSQL")
check(isinstance(postgres, str) and re.match(r"^(>=\s*)?15\.0\.0\b", postgres),
      "META.json requires PostgreSQL 15 at runtime (prereqs.runtime.requires.PostgreSQL)", repr(postgres))

# The other places that carry the version.
changelog = read("debian/changelog")
m = re.match(r"^(\S+) \(([^)]+)\) ", changelog)
deb_version = m.group(2) if m else None
check(m and deb_version.rsplit("-", 1)[0] == default_version,
      f"debian/changelog's newest entry is {default_version}-N",
      f"it says {deb_version!r}: add an entry with dch -v {default_version}-1")
pyproject = read("clients/python/pyproject.toml")
m = re.search(r'^version\s*=\s*"([^"]+)"', pyproject, re.M)
check(m and m.group(1) == default_version, f"clients/python/pyproject.toml's version is {default_version}",
      f"it says {m.group(1) if m else None!r}")

# The licence, named the same everywhere.
check("PostgreSQL License" in read("LICENSE") and "Permission to use, copy, modify, and distribute" in read("LICENSE"),
      "LICENSE is the PostgreSQL License")
check(meta.get("license") in LICENSES or isinstance(meta.get("license"), (dict, list)),
      "META.json's license is one the spec knows", repr(meta.get("license")))
check(meta.get("license") == "postgresql", "META.json's license is postgresql", repr(meta.get("license")))
check(re.search(r"^#.*PostgreSQL License", control, re.M), f"{EXTENSION}.control names the PostgreSQL License")
copyright_ = read("debian/copyright")
check(re.search(r"^License: PostgreSQL$", copyright_, re.M) and "Permission to use, copy, modify" in copyright_,
      "debian/copyright's licence is PostgreSQL, with its text")
check(re.search(r'^license\s*=\s*\{\s*text\s*=\s*"PostgreSQL"\s*\}', pyproject, re.M)
      and "License :: OSI Approved :: PostgreSQL License" in pyproject,
      "clients/python/pyproject.toml's licence is PostgreSQL (license and classifier)")

failed = 0
for n, (ok, description, diagnostic) in enumerate(results, 1):
    print(f"{'ok' if ok else 'not ok'} {n} - {description}")
    if not ok:
        failed += 1
        for line in str(diagnostic).splitlines():
            print(f"#   {line}")
print(f"1..{len(results)}")
sys.exit(1 if failed else 0)
