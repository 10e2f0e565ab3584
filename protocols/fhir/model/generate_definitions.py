#!/usr/bin/python3
"""Generates r4_definitions.inc, the FHIR R4 (4.0.1) definition tables of cg_fhir_model.

Reads the official definitions (profiles-resources.json.gz, profiles-types.json.gz,
search-parameters.json) and writes compact C++ tables: one sorted string table and arrays of
small integer records that index into it. definitions.cpp includes the result; the build
never reads the definitions themselves. The output is deterministic: everything is sorted
or kept in definition order, and nothing depends on time, paths or hash order.

Usage (from the repository root; see docs/fhir-definitions.md):
    /usr/bin/python3 protocols/fhir/model/generate_definitions.py \
        [--input ../shared/data/fhir-r4] [--output protocols/fhir/model/r4_definitions.inc]
    ... --check   exits 1 when the committed output differs from a fresh one.

Python 3 standard library only.
"""

import argparse
import gzip
import json
import os
import sys

FHIR_VERSION = "4.0.1"
NO_TYPE = 0xFFFF

# Must match cg::fhir::PrimitiveType (definitions.hpp), in this order, after kNone = 0.
PRIMITIVES = [
    "base64Binary", "boolean", "canonical", "code", "date", "dateTime", "decimal", "id",
    "instant", "integer", "markdown", "oid", "positiveInt", "string", "time", "unsignedInt",
    "uri", "url", "uuid", "xhtml",
]
# Must match cg::fhir::TypeKind.
KINDS = {"primitive": 0, "complex": 1, "resource": 2, "backbone": 3}
# Must match cg::fhir::SearchParamType.
SEARCH_TYPES = ["number", "date", "string", "token", "reference", "composite", "quantity",
                "uri", "special"]
# Must match cg::fhir::SearchComparator (bit i = 1 << i).
COMPARATORS = ["eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap"]

# Element flag bits (a 16-bit field); must match kRequired... in definitions.cpp.
# F_SUMMARY / F_MODIFIER are R4's isSummary / isModifier (what _summary and _elements keep).
F_REQUIRED, F_ARRAY, F_CHOICE, F_XML_ATTR, F_XHTML, F_CONTENT_REF, F_PROHIBITED = (
    1, 2, 4, 8, 16, 32, 64)
F_SUMMARY, F_MODIFIER = 128, 256

SYSTEM_TYPE_PREFIX = "http://hl7.org/fhirpath/System."
FHIR_TYPE_EXT = "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type"


def load_bundle(path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [e["resource"] for e in json.load(f)["entry"]]


def wanted_structure(sd):
    """Base types and resources of R4 4.0.1 only: no profiles (SimpleQuantity), no logical
    models (MetadataResource), no later-version additions (the copy we read carries the
    R4B SubscriptionStatus, which is not an R4 resource)."""
    return (sd["resourceType"] == "StructureDefinition"
            and sd.get("fhirVersion") == FHIR_VERSION
            and sd.get("derivation") != "constraint"
            and sd["kind"] in ("primitive-type", "complex-type", "resource"))


def type_code(sd, element, t):
    """The FHIR type code of one element type; System.* codes name their FHIR type through
    an extension, and Resource.id is an `id` although R4 declares it System.String."""
    code = t["code"]
    if not code.startswith(SYSTEM_TYPE_PREFIX):
        return code
    if sd["kind"] == "resource" and element["path"].count(".") == 1 and \
            element["path"].endswith(".id"):
        return "id"
    for ext in t.get("extension", []):
        if ext["url"] == FHIR_TYPE_EXT:
            return ext["valueUrl"]
    if code == SYSTEM_TYPE_PREFIX + "String":
        return "string"  # xhtml.id carries no extension
    raise SystemExit("no FHIR type for %s" % element["path"])


class Model:
    def __init__(self):
        self.types = {}  # name -> dict(kind, abstract, base, primitive, elements)

    def add_structure(self, sd):
        name = sd["id"]
        kind = {"primitive-type": "primitive", "complex-type": "complex",
                "resource": "resource"}[sd["kind"]]
        base = sd.get("baseDefinition", "").rsplit("/", 1)[-1] or None
        elements = [e for e in sd["snapshot"]["element"] if ":" not in e["id"]]
        paths = {e["path"] for e in elements}
        self.types[name] = dict(kind=kind, abstract=bool(sd.get("abstract")), base=base,
                                primitive=name if kind == "primitive" else None,
                                elements=[])
        for e in elements[1:]:
            owner, _, _ = e["path"].rpartition(".")
            if kind == "primitive" and e["path"].endswith(".value"):
                continue  # the value itself is the JSON scalar / XML value attribute
            if owner not in self.types:
                # First child of a backbone element: declare the backbone type.
                self.types[owner] = dict(kind="backbone", abstract=False, base=None,
                                         primitive=None, elements=[])
            self.types[owner]["elements"].append(self.element(sd, e, paths))

    def element(self, sd, e, paths):
        leaf = e["path"].rpartition(".")[2]
        flags = 0
        if e["min"] >= 1:
            flags |= F_REQUIRED
        if e["max"] == "*":
            flags |= F_ARRAY
        elif e["max"] == "0":
            flags |= F_PROHIBITED
        elif e["max"] != "1":
            raise SystemExit("unexpected max %s at %s" % (e["max"], e["path"]))
        if leaf.endswith("[x]"):
            flags |= F_CHOICE
            leaf = leaf[:-3]
        if "xmlAttr" in e.get("representation", []):
            flags |= F_XML_ATTR
        if e.get("isSummary") is True:
            flags |= F_SUMMARY
        if e.get("isModifier") is True:
            flags |= F_MODIFIER
        if "contentReference" in e:
            flags |= F_CONTENT_REF
            types = [e["contentReference"].lstrip("#")]
        elif any(p.startswith(e["path"] + ".") for p in paths):
            types = [e["path"]]  # a backbone element defined inline
        else:
            types = [type_code(sd, e, t) for t in e["type"]]
        if types == ["xhtml"]:
            flags |= F_XHTML
        return dict(name=leaf, flags=flags, types=types)


def capitalize(s):
    return s[0].upper() + s[1:]


def cpp_string(s):
    out = ['"']
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20:
            raise SystemExit("control character in %r" % s)
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


class Strings:
    def __init__(self):
        self.values = set()

    def add(self, s):
        self.values.add(s)
        return s

    def freeze(self):
        self.sorted = sorted(self.values)
        self.index = {s: i for i, s in enumerate(self.sorted)}
        if len(self.sorted) >= NO_TYPE:
            raise SystemExit("string table too large for 16-bit indexes")

    def __getitem__(self, s):
        return self.index[s]


def build(input_dir):
    resources = load_bundle(os.path.join(input_dir, "profiles-resources.json.gz"))
    datatypes = load_bundle(os.path.join(input_dir, "profiles-types.json.gz"))
    with open(os.path.join(input_dir, "search-parameters.json"), encoding="utf-8") as f:
        search = [e["resource"] for e in json.load(f)["entry"]]

    model = Model()
    for sd in datatypes + resources:
        if wanted_structure(sd):
            model.add_structure(sd)
    primitives = sorted(n for n, t in model.types.items() if t["kind"] == "primitive")
    if primitives != sorted(PRIMITIVES):
        raise SystemExit("primitive types changed: %s" % primitives)

    type_names = sorted(model.types)
    type_id = {n: i for i, n in enumerate(type_names)}
    for t in model.types.values():
        for e in t["elements"]:
            for code in e["types"]:
                if code not in type_id:
                    raise SystemExit("unknown type %s" % code)

    strings = Strings()
    for n in type_names:
        strings.add(n)
        for e in model.types[n]["elements"]:
            strings.add(e["name"])
            if e["flags"] & F_CHOICE:
                for code in e["types"]:
                    strings.add(e["name"] + capitalize(code))

    search = [sp for sp in search if sp.get("version", FHIR_VERSION) == FHIR_VERSION]
    search.sort(key=lambda sp: sp["url"])
    for sp in search:
        for s in [sp["code"], sp["url"], sp.get("expression", "")] + sp["base"] + \
                sp.get("target", []):
            strings.add(s)
        for c in sp.get("component", []):
            strings.add(c["definition"])
            strings.add(c["expression"])

    compartments = sorted((sd for sd in resources if sd["resourceType"] == "CompartmentDefinition"),
                          key=lambda c: c["code"])
    for c in compartments:
        strings.add(c["code"])
        for r in c["resource"]:
            strings.add(r["code"])
            for p in r.get("param", []):
                strings.add(p)
    strings.freeze()
    return dict(model=model, type_names=type_names, type_id=type_id, strings=strings,
                search=search, compartments=compartments)


def emit(d):
    model, type_names, type_id, strings = d["model"], d["type_names"], d["type_id"], d["strings"]
    out = []
    w = out.append
    w("// Generated by protocols/fhir/model/generate_definitions.py from the official FHIR R4")
    w("// (%s) definitions. Do not edit; re-run the generator (docs/fhir-definitions.md)." % FHIR_VERSION)
    w("// Included by definitions.cpp only, inside its table namespace.")
    w("// clang-format off")
    w("")
    w("// Every name, path, URL and expression once, sorted; records below index into it.")
    w("inline constexpr std::string_view kStrings[] = {")
    for s in strings.sorted:
        w("  %s," % cpp_string(s))
    w("};")
    w("")

    elements, element_types, members, types = [], [], [], []
    for n in type_names:
        t = model.types[n]
        first_element = len(elements)
        member_rows = []
        for e in t["elements"]:
            index = len(elements)
            elements.append((strings[e["name"]], len(element_types), len(e["types"]), e["flags"]))
            element_types.extend(type_id[c] for c in e["types"])
            if e["flags"] & F_CHOICE:
                for c in e["types"]:
                    member_rows.append((e["name"] + capitalize(c), index, type_id[c]))
            else:
                member_rows.append((e["name"], index, type_id[e["types"][0]]))
        member_rows.sort()
        for a, b in zip(member_rows, member_rows[1:]):
            if a[0] == b[0]:
                raise SystemExit("duplicate member %s in %s" % (a[0], n))
        first_member = len(members)
        members.extend((strings[m[0]], m[1], m[2]) for m in member_rows)
        base = type_id.get(t["base"], NO_TYPE) if t["base"] else NO_TYPE
        primitive = PRIMITIVES.index(n) + 1 if t["primitive"] else 0
        types.append((strings[n], KINDS[t["kind"]], primitive, int(t["abstract"]), base,
                      first_element, len(t["elements"]), first_member, len(member_rows)))

    w("// Types sorted by name (TypeId = position): {name, kind, primitive, abstract, base,")
    w("// first element, element count, first member, member count}.")
    w("inline constexpr RawType kTypes[] = {")
    for n, row in zip(type_names, types):
        w("  {%s},  // %s" % (", ".join(map(str, row)), n))
    w("};")
    w("")
    w("// Elements of each type in definition order: {name, first type, type count, flags}.")
    w("inline constexpr RawElement kElements[] = {")
    for i in range(0, len(elements), 6):
        w("  " + " ".join("{%d, %d, %d, %d}," % e for e in elements[i:i + 6]))
    w("};")
    w("")
    w("// Types of each element (TypeIds); a choice element lists every allowed type.")
    w("inline constexpr std::uint16_t kElementTypes[] = {")
    emit_numbers(w, element_types)
    w("};")
    w("")
    w("// Per type, its JSON property / XML element names sorted (choice elements once per")
    w("// type: valueQuantity, valueString, ...): {name, element, type}.")
    w("inline constexpr RawMember kMembers[] = {")
    for i in range(0, len(members), 6):
        w("  " + " ".join("{%d, %d, %d}," % m for m in members[i:i + 6]))
    w("};")
    w("")

    emit_search(w, d)
    emit_compartments(w, d)
    return "\n".join(out) + "\n", dict(types=len(types), elements=len(elements),
                                       members=len(members), strings=len(strings.sorted))


def emit_numbers(w, numbers):
    for i in range(0, len(numbers), 16):
        w("  " + ", ".join(map(str, numbers[i:i + 16])) + ",")


def emit_search(w, d):
    strings, type_id, model = d["strings"], d["type_id"], d["model"]
    params, lists, components = [], [], []
    for sp in d["search"]:
        first_list = len(lists)
        lists.extend(strings[b] for b in sp["base"])
        first_target = len(lists)
        lists.extend(strings[t] for t in sorted(sp.get("target", [])))
        comparators = 0
        for c in sp.get("comparator", []):
            comparators |= 1 << COMPARATORS.index(c)
        first_component = len(components)
        components.extend((strings[c["definition"]], strings[c["expression"]])
                          for c in sp.get("component", []))
        params.append((strings[sp["code"]], strings[sp["url"]],
                       strings[sp.get("expression", "")], SEARCH_TYPES.index(sp["type"]),
                       first_list, len(sp["base"]), first_target, len(sp.get("target", [])),
                       comparators, first_component, len(sp.get("component", []))))

    w("// Search parameters sorted by URL: {code, url, expression, type, first base, base count,")
    w("// first target, target count, comparator bits, first component, component count}.")
    w("inline constexpr RawSearchParam kSearchParams[] = {")
    for row in params:
        w("  {%s}," % ", ".join(map(str, row)))
    w("};")
    w("")
    w("// Base and target resource type names of search parameters (string indexes).")
    w("inline constexpr std::uint16_t kSearchParamLists[] = {")
    emit_numbers(w, lists)
    w("};")
    w("")
    w("// Components of composite search parameters: {definition url, expression}.")
    w("inline constexpr RawSearchComponent kSearchComponents[] = {")
    for row in components:
        w("  {%d, %d}," % row)
    w("};")
    w("")

    # Per resource type (abstract ones too), the parameters that apply, sorted by code:
    # those based on the type itself or on any type it derives from.
    per_type, index = [], []
    for n in d["type_names"]:
        t = model.types[n]
        if t["kind"] != "resource":
            continue
        chain, cur = set(), n
        while cur:
            chain.add(cur)
            cur = model.types[cur]["base"]
        applicable = sorted((sp["code"], i) for i, sp in enumerate(d["search"])
                            if chain.intersection(sp["base"]))
        for a, b in zip(applicable, applicable[1:]):
            if a[0] == b[0]:
                raise SystemExit("duplicate search parameter %s on %s" % (a[0], n))
        per_type.append((type_id[n], len(index), len(applicable)))
        index.extend(i for _, i in applicable)
    w("// Per resource type (sorted by TypeId): {type, first, count} into kTypeSearchParams.")
    w("inline constexpr RawTypeSearchParams kSearchParamsByType[] = {")
    for row in per_type:
        w("  {%d, %d, %d}," % row)
    w("};")
    w("inline constexpr std::uint16_t kTypeSearchParams[] = {")
    emit_numbers(w, index)
    w("};")
    w("")


def emit_compartments(w, d):
    strings = d["strings"]
    rows, params = [], []
    for c in d["compartments"]:
        for r in sorted(c["resource"], key=lambda r: r["code"]):
            ps = r.get("param", [])
            rows.append((strings[c["code"]], strings[r["code"]], len(params), len(ps)))
            params.extend(strings[p] for p in ps)
    w("// Compartment membership sorted by (compartment, resource):")
    w("// {compartment, resource, first param, param count}; no params = not a member.")
    w("inline constexpr RawCompartmentEntry kCompartments[] = {")
    for row in rows:
        w("  {%d, %d, %d, %d}," % row)
    w("};")
    w("inline constexpr std::uint16_t kCompartmentParams[] = {")
    emit_numbers(w, params)
    w("};")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.normpath(os.path.join(here, "..", "..", ".."))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", default=os.path.join(repo, "..", "shared", "data", "fhir-r4"))
    parser.add_argument("--output", default=os.path.join(here, "r4_definitions.inc"))
    parser.add_argument("--check", action="store_true",
                        help="compare with --output instead of writing it")
    args = parser.parse_args()

    text, sizes = emit(build(args.input))
    if args.check:
        with open(args.output, encoding="utf-8") as f:
            if f.read() != text:
                print("%s is out of date; re-run the generator" % args.output, file=sys.stderr)
                return 1
        return 0
    with open(args.output, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    print("wrote %s: %s" % (args.output, ", ".join("%d %s" % (v, k) for k, v in sizes.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
