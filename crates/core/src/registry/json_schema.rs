//! JSON Schema with a schema from the registry (<https://json-schema.org/specification>): data
//! is validated against it before it is written, and goes to Kafka as its JSON text after
//! Confluent's magic byte and schema id (as Confluent's `JSONSerializer` writes it).
//!
//! The validator is our own, over serde_json and regex-lite, because the crates made for it
//! do not fit the component's 4 MB budget (measured: jsonschema +2.5 MB, boon +1.3 MB). It
//! asserts the validation vocabulary of drafts 4 to 2020-12 — reading each keyword by the
//! shape of its value where drafts differ (`exclusiveMinimum` as a flag or a bound, `items` as a
//! schema or a tuple, `dependencies`) — with `$ref` to JSON pointers, anchors, `$id`s and to
//! other subjects' schemas (references, by name). Not asserted: `format` (an annotation by
//! default since 2019-09), `unevaluatedItems`, `$dynamicRef`; `unevaluatedProperties` sees the
//! properties its own schema object and applicators evaluate. Checked against Python's
//! `jsonschema` by the e2e tests.

use std::collections::HashMap;

use regex_lite::Regex;
use serde_json::{Map, Value as Json};

/// `$ref` chains (and nesting) deeper than this are refused rather than followed for ever.
const MAX_DEPTH: usize = crate::limits::MAX_DEPTH;
/// Subschema evaluations per validation: a schema whose applicators branch through `$ref`s
/// (`{"anyOf": [{"$ref": "#"}, {"$ref": "#"}]}`) would otherwise take exponential time, and a
/// v2 client may send the schema.
const MAX_STEPS: u64 = 1_000_000;

pub struct JsonSchema {
    root: Json,
    /// Referenced schemas by reference name and by `$id`.
    docs: HashMap<String, Json>,
    /// Every `pattern` and `patternProperties` key, compiled once.
    regexes: HashMap<String, Regex>,
    /// Evaluations so far in the current validation (bounded by MAX_STEPS).
    steps: std::cell::Cell<u64>,
}

impl std::fmt::Debug for JsonSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JsonSchema")
    }
}

/// Where in the instance a check failed.
#[derive(Clone, Copy)]
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

fn place(path: &[Step<'_>]) -> String {
    if path.is_empty() {
        return "the value".into();
    }
    let mut s = String::new();
    for step in path {
        match step {
            Step::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Step::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    format!("field '{s}'")
}

impl JsonSchema {
    /// `text` with the schemas it references as `(reference name, text)`.
    pub fn parse(text: &str, references: &[(String, String)]) -> Result<JsonSchema, String> {
        let root: Json = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let mut docs = HashMap::new();
        for (name, t) in references {
            let doc: Json = serde_json::from_str(t).map_err(|e| format!("reference '{name}' is not JSON: {e}"))?;
            if let Some(id) = doc.get("$id").or_else(|| doc.get("id")).and_then(Json::as_str) {
                docs.insert(strip_fragment(id).to_owned(), doc.clone());
            }
            docs.insert(name.clone(), doc);
        }
        let mut schema = JsonSchema { root, docs, regexes: HashMap::new(), steps: std::cell::Cell::new(0) };
        let mut regexes = HashMap::new();
        let mut all: Vec<&Json> = vec![&schema.root];
        all.extend(schema.docs.values());
        for doc in all {
            schema.prepare(doc, doc, &mut regexes, 0)?;
        }
        schema.regexes = regexes;
        Ok(schema)
    }

    /// The schema's `title` (the record name of RECORD_NAME subjects, as Confluent's).
    pub fn name(&self) -> Option<&str> {
        self.root.get("title").and_then(Json::as_str)
    }

    /// Checks a schema (and its subschemas): its shape, patterns, types and references.
    fn prepare(&self, doc: &Json, s: &Json, regexes: &mut HashMap<String, Regex>, depth: usize) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err("the schema nests too deeply".into());
        }
        let m = match s {
            Json::Bool(_) => return Ok(()),
            Json::Object(m) => m,
            other => return Err(format!("a schema must be an object or a boolean, not {other}")),
        };
        let mut compile = |p: &str| -> Result<(), String> {
            if !regexes.contains_key(p) {
                let re = Regex::new(p).map_err(|e| format!("pattern '{p}' is not supported: {e}"))?;
                regexes.insert(p.to_owned(), re);
            }
            Ok(())
        };
        if let Some(p) = m.get("pattern") {
            compile(p.as_str().ok_or("pattern must be a string")?)?;
        }
        if let Some(Json::Object(pp)) = m.get("patternProperties") {
            for k in pp.keys() {
                compile(k)?;
            }
        }
        if let Some(t) = m.get("type") {
            let names: Vec<&Json> = match t {
                Json::Array(a) => a.iter().collect(),
                one => vec![one],
            };
            for n in names {
                match n.as_str() {
                    Some("null" | "boolean" | "object" | "array" | "string" | "number" | "integer") => {}
                    _ => return Err(format!("type {n} is not a JSON Schema type")),
                }
            }
        }
        if let Some(r) = m.get("$ref") {
            let r = r.as_str().ok_or("$ref must be a string")?;
            self.resolve(doc, r).ok_or_else(|| format!("$ref '{r}' does not resolve"))?;
        }
        for (k, v) in m {
            match k.as_str() {
                "properties" | "patternProperties" | "$defs" | "definitions" | "dependentSchemas" => {
                    for sub in v.as_object().ok_or_else(|| format!("{k} must be an object"))?.values() {
                        self.prepare(doc, sub, regexes, depth + 1)?;
                    }
                }
                "dependencies" => {
                    for sub in v.as_object().ok_or("dependencies must be an object")?.values() {
                        if !sub.is_array() {
                            self.prepare(doc, sub, regexes, depth + 1)?;
                        }
                    }
                }
                "allOf" | "anyOf" | "oneOf" | "prefixItems" => {
                    for sub in v.as_array().ok_or_else(|| format!("{k} must be an array"))? {
                        self.prepare(doc, sub, regexes, depth + 1)?;
                    }
                }
                "items" if v.is_array() => {
                    for sub in v.as_array().into_iter().flatten() {
                        self.prepare(doc, sub, regexes, depth + 1)?;
                    }
                }
                "items"
                | "additionalItems"
                | "additionalProperties"
                | "not"
                | "if"
                | "then"
                | "else"
                | "contains"
                | "propertyNames"
                | "unevaluatedProperties"
                | "unevaluatedItems" => {
                    self.prepare(doc, v, regexes, depth + 1)?;
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The document and schema `reference` names, from within `doc`.
    fn resolve<'a>(&'a self, doc: &'a Json, reference: &str) -> Option<(&'a Json, &'a Json)> {
        let (uri, fragment) = reference.split_once('#').unwrap_or((reference, ""));
        let target = if uri.is_empty() || self.is_id_of(doc, uri) {
            doc
        } else if self.is_id_of(&self.root, uri) {
            &self.root
        } else {
            self.docs.get(uri).or_else(|| {
                // A relative reference to a document known by a longer name, or the other way.
                let last = uri.rsplit('/').next().unwrap_or(uri);
                self.docs
                    .iter()
                    .find(|(name, _)| name.rsplit('/').next() == Some(last) || name.ends_with(&format!("/{uri}")))
                    .map(|(_, d)| d)
            })?
        };
        let schema = if fragment.is_empty() {
            target
        } else if fragment.starts_with('/') {
            pointer(target, fragment)?
        } else {
            anchor(target, fragment, 0)?
        };
        Some((target, schema))
    }

    fn is_id_of(&self, doc: &Json, uri: &str) -> bool {
        doc.get("$id").or_else(|| doc.get("id")).and_then(Json::as_str).is_some_and(|id| {
            let id = strip_fragment(id);
            id == uri || id.rsplit('/').next() == uri.rsplit('/').next()
        })
    }

    /// Ok, or what in `instance` does not fit (the first thing found), naming the field.
    pub fn validate(&self, instance: &Json) -> Result<(), String> {
        let mut path = Vec::new();
        self.steps.set(0);
        self.check(&self.root, &self.root, instance, &mut path, 0)
    }

    /// Counts `n` evaluations against [`MAX_STEPS`].
    fn spend(&self, n: u64, path: &[Step<'_>]) -> Result<(), String> {
        self.steps.set(self.steps.get().saturating_add(n));
        if self.steps.get() > MAX_STEPS {
            return Err(format!("{}: the schema takes too long to evaluate", place(path)));
        }
        Ok(())
    }

    fn check<'i>(
        &self,
        doc: &Json,
        schema: &Json,
        inst: &'i Json,
        path: &mut Vec<Step<'i>>,
        depth: usize,
    ) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err(format!("{}: the schema's references nest too deeply", place(path)));
        }
        self.spend(1, path)?;
        let m = match schema {
            Json::Bool(true) => return Ok(()),
            Json::Bool(false) => return Err(format!("{}: no value is allowed here", place(path))),
            Json::Object(m) => m,
            _ => return Ok(()),
        };
        let fail = |path: &[Step<'_>], what: String| Err(format!("{}: {what}", place(path)));
        if let Some(r) = m.get("$ref").and_then(Json::as_str) {
            let (d, s) = self.resolve(doc, r).ok_or_else(|| format!("$ref '{r}' does not resolve"))?;
            self.check(d, s, inst, path, depth + 1)?;
        }
        if let Some(t) = m.get("type") {
            let ok = match t {
                Json::Array(a) => a.iter().any(|t| t.as_str().is_some_and(|t| is_type(inst, t))),
                t => t.as_str().is_some_and(|t| is_type(inst, t)),
            };
            if !ok {
                return fail(path, format!("expected type {t}, got {}", crate::formats::kind(inst)));
            }
        }
        if let Some(e) = m.get("enum").and_then(Json::as_array)
            && !e.iter().any(|v| same(v, inst))
        {
            return fail(path, format!("{inst} is not one of {}", Json::Array(e.clone())));
        }
        if let Some(c) = m.get("const")
            && !same(c, inst)
        {
            return fail(path, format!("expected {c}, got {inst}"));
        }
        match inst {
            Json::Number(n) => self.check_number(m, n.as_f64().unwrap_or(f64::NAN), path)?,
            Json::String(s) => {
                let len = s.chars().count() as u64;
                if let Some(min) = m.get("minLength").and_then(Json::as_u64)
                    && len < min
                {
                    return fail(path, format!("expected at least {min} characters, got {len}"));
                }
                if let Some(max) = m.get("maxLength").and_then(Json::as_u64)
                    && len > max
                {
                    return fail(path, format!("expected at most {max} characters, got {len}"));
                }
                if let Some(p) = m.get("pattern").and_then(Json::as_str)
                    && !self.regexes.get(p).is_some_and(|re| re.is_match(s))
                {
                    return fail(path, format!("\"{s}\" does not match the pattern '{p}'"));
                }
            }
            Json::Array(items) => self.check_array(doc, m, items, path, depth)?,
            Json::Object(obj) => self.check_object(doc, m, inst, obj, path, depth)?,
            _ => {}
        }
        if let Some(all) = m.get("allOf").and_then(Json::as_array) {
            for s in all {
                self.check(doc, s, inst, path, depth + 1)?;
            }
        }
        if let Some(any) = m.get("anyOf").and_then(Json::as_array) {
            let mut first = None;
            if !any.iter().any(|s| match self.check(doc, s, inst, path, depth + 1) {
                Ok(()) => true,
                Err(e) => {
                    first.get_or_insert(e);
                    false
                }
            }) {
                return fail(path, format!("matches none of anyOf ({})", first.unwrap_or_default()));
            }
        }
        if let Some(one) = m.get("oneOf").and_then(Json::as_array) {
            let n = one.iter().filter(|s| self.check(doc, s, inst, path, depth + 1).is_ok()).count();
            if n != 1 {
                return fail(path, format!("matches {n} of oneOf's schemas, not exactly one"));
            }
        }
        if let Some(not) = m.get("not")
            && self.check(doc, not, inst, path, depth + 1).is_ok()
        {
            return fail(path, "matches the schema under 'not'".into());
        }
        if let Some(cond) = m.get("if") {
            let branch = if self.check(doc, cond, inst, path, depth + 1).is_ok() { "then" } else { "else" };
            if let Some(s) = m.get(branch) {
                self.check(doc, s, inst, path, depth + 1)?;
            }
        }
        Ok(())
    }

    fn check_number(&self, m: &Map<String, Json>, x: f64, path: &[Step<'_>]) -> Result<(), String> {
        let fail = |what: String| Err(format!("{}: {what}", place(path)));
        let excl = |k: &str| m.get(k).and_then(Json::as_bool).unwrap_or(false);
        if let Some(min) = m.get("minimum").and_then(Json::as_f64) {
            // Draft 4: exclusiveMinimum is a flag on minimum.
            if x < min || (excl("exclusiveMinimum") && x <= min) {
                return fail(format!("{x} is below the minimum {min}"));
            }
        }
        if let Some(max) = m.get("maximum").and_then(Json::as_f64)
            && (x > max || (excl("exclusiveMaximum") && x >= max))
        {
            return fail(format!("{x} is above the maximum {max}"));
        }
        if let Some(min) = m.get("exclusiveMinimum").and_then(Json::as_f64)
            && x <= min
        {
            return fail(format!("{x} is not above {min}"));
        }
        if let Some(max) = m.get("exclusiveMaximum").and_then(Json::as_f64)
            && x >= max
        {
            return fail(format!("{x} is not below {max}"));
        }
        if let Some(d) = m.get("multipleOf").and_then(Json::as_f64)
            && d > 0.0
        {
            let q = x / d;
            if !q.is_finite() || (q - q.round()).abs() > 1e-9 * q.abs().max(1.0) {
                return fail(format!("{x} is not a multiple of {d}"));
            }
        }
        Ok(())
    }

    fn check_array<'i>(
        &self,
        doc: &Json,
        m: &Map<String, Json>,
        items: &'i [Json],
        path: &mut Vec<Step<'i>>,
        depth: usize,
    ) -> Result<(), String> {
        let n = items.len() as u64;
        if let Some(min) = m.get("minItems").and_then(Json::as_u64)
            && n < min
        {
            return Err(format!("{}: expected at least {min} items, got {n}", place(path)));
        }
        if let Some(max) = m.get("maxItems").and_then(Json::as_u64)
            && n > max
        {
            return Err(format!("{}: expected at most {max} items, got {n}", place(path)));
        }
        if m.get("uniqueItems").and_then(Json::as_bool) == Some(true) {
            // One canonical text per item in a set: linear, where comparing every pair took a
            // minute for a 1 MB array. Counted against the step budget like any evaluation.
            self.spend(n, path)?;
            let mut seen = std::collections::HashSet::with_capacity(items.len());
            for a in items {
                let mut key = String::new();
                canonical(a, &mut key);
                if !seen.insert(key) {
                    return Err(format!("{}: items are not unique ({a} repeats)", place(path)));
                }
            }
        }
        // The tuple part (prefixItems; items as an array before 2020-12), then the rest.
        let (tuple, rest): (&[Json], Option<&Json>) = match (m.get("prefixItems"), m.get("items")) {
            (Some(Json::Array(p)), rest) => (p, rest),
            (_, Some(Json::Array(t))) => (t, m.get("additionalItems")),
            (_, rest) => (&[], rest),
        };
        for (i, item) in items.iter().enumerate() {
            let s = match tuple.get(i) {
                Some(s) => s,
                None => match rest {
                    Some(s) => s,
                    None => break,
                },
            };
            path.push(Step::Index(i));
            let r = self.check(doc, s, item, path, depth + 1);
            path.pop();
            r?;
        }
        if let Some(c) = m.get("contains") {
            let found =
                items.iter().filter(|i| self.check(doc, c, i, &mut Vec::new(), depth + 1).is_ok()).count() as u64;
            let min = m.get("minContains").and_then(Json::as_u64).unwrap_or(1);
            if found < min {
                return Err(format!("{}: expected at least {min} items matching 'contains', got {found}", place(path)));
            }
            if let Some(max) = m.get("maxContains").and_then(Json::as_u64)
                && found > max
            {
                return Err(format!("{}: expected at most {max} items matching 'contains', got {found}", place(path)));
            }
        }
        Ok(())
    }

    fn check_object<'i>(
        &self,
        doc: &Json,
        m: &Map<String, Json>,
        inst: &'i Json,
        obj: &'i Map<String, Json>,
        path: &mut Vec<Step<'i>>,
        depth: usize,
    ) -> Result<(), String> {
        let n = obj.len() as u64;
        if let Some(min) = m.get("minProperties").and_then(Json::as_u64)
            && n < min
        {
            return Err(format!("{}: expected at least {min} properties, got {n}", place(path)));
        }
        if let Some(max) = m.get("maxProperties").and_then(Json::as_u64)
            && n > max
        {
            return Err(format!("{}: expected at most {max} properties, got {n}", place(path)));
        }
        if let Some(req) = m.get("required").and_then(Json::as_array) {
            for r in req.iter().filter_map(Json::as_str) {
                if !obj.contains_key(r) {
                    let mut at = path.clone();
                    at.push(Step::Key(r));
                    return Err(format!("{} is missing (required)", place(&at)));
                }
            }
        }
        let deps = m.get("dependentRequired").into_iter().chain(m.get("dependencies"));
        for d in deps.filter_map(Json::as_object) {
            for (k, need) in d {
                if !obj.contains_key(k) {
                    continue;
                }
                match need {
                    Json::Array(names) => {
                        if let Some(missing) = names.iter().filter_map(Json::as_str).find(|n| !obj.contains_key(*n)) {
                            return Err(format!("{}: '{k}' needs '{missing}', which is missing", place(path)));
                        }
                    }
                    s => self.check(doc, s, inst, path, depth + 1)?,
                }
            }
        }
        if let Some(ds) = m.get("dependentSchemas").and_then(Json::as_object) {
            for (k, s) in ds {
                if obj.contains_key(k) {
                    self.check(doc, s, inst, path, depth + 1)?;
                }
            }
        }
        let props = m.get("properties").and_then(Json::as_object);
        let patterns: Vec<(&Regex, &Json)> = m
            .get("patternProperties")
            .and_then(Json::as_object)
            .into_iter()
            .flatten()
            .filter_map(|(p, s)| self.regexes.get(p).map(|re| (re, s)))
            .collect();
        let additional = m.get("additionalProperties");
        let unevaluated = m.get("unevaluatedProperties");
        for (k, v) in obj {
            if let Some(names) = m.get("propertyNames") {
                let key = Json::String(k.clone());
                self.check(doc, names, &key, &mut Vec::new(), depth + 1)
                    .map_err(|e| format!("{}: property name '{k}' does not fit ({e})", place(path)))?;
            }
            path.push(Step::Key(k));
            let mut matched = false;
            if let Some(s) = props.and_then(|p| p.get(k)) {
                matched = true;
                let r = self.check(doc, s, v, path, depth + 1);
                if r.is_err() {
                    path.pop();
                    return r;
                }
            }
            for (re, s) in &patterns {
                if re.is_match(k) {
                    matched = true;
                    let r = self.check(doc, s, v, path, depth + 1);
                    if r.is_err() {
                        path.pop();
                        return r;
                    }
                }
            }
            let rest = match (additional, unevaluated) {
                (Some(a), _) if !matched => Some(a),
                (None, Some(u)) if !matched && !self.evaluated_elsewhere(doc, m, inst, k, depth) => Some(u),
                _ => None,
            };
            if let Some(s) = rest {
                let r = match s {
                    Json::Bool(false) => Err(format!("{}: is not allowed (no such property)", place(path))),
                    s => self.check(doc, s, v, path, depth + 1),
                };
                if r.is_err() {
                    path.pop();
                    return r;
                }
            }
            path.pop();
        }
        Ok(())
    }

    /// Whether property `k` is evaluated by `m`'s applicators (for unevaluatedProperties):
    /// allOf, `$ref`, and the anyOf/oneOf/if-then-else branches the object matches.
    fn evaluated_elsewhere(&self, doc: &Json, m: &Map<String, Json>, inst: &Json, k: &str, depth: usize) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        let names = |s: &Json| -> bool {
            let Some(sm) = s.as_object() else { return false };
            sm.get("properties").and_then(Json::as_object).is_some_and(|p| p.contains_key(k))
                || sm
                    .get("patternProperties")
                    .and_then(Json::as_object)
                    .is_some_and(|pp| pp.keys().any(|p| self.regexes.get(p).is_some_and(|re| re.is_match(k))))
                || sm.get("additionalProperties").is_some()
                || self.evaluated_elsewhere(doc, sm, inst, k, depth + 1)
        };
        let valid = |s: &Json| self.check(doc, s, inst, &mut Vec::new(), depth + 1).is_ok();
        if let Some(r) = m.get("$ref").and_then(Json::as_str)
            && let Some((_, s)) = self.resolve(doc, r)
            && names(s)
        {
            return true;
        }
        let all = m.get("allOf").and_then(Json::as_array).into_iter().flatten();
        let some = ["anyOf", "oneOf"].into_iter().filter_map(|k| m.get(k).and_then(Json::as_array)).flatten();
        let cond = m.get("if").map(|c| if valid(c) { [Some(c), m.get("then")] } else { [None, m.get("else")] });
        all.clone().any(names)
            || some.filter(|s| valid(s)).any(names)
            || cond.into_iter().flatten().flatten().any(names)
    }
}

fn strip_fragment(id: &str) -> &str {
    id.split('#').next().unwrap_or(id)
}

/// A JSON pointer (RFC 6901, `~0`/`~1` and percent-escapes undone) into `doc`.
fn pointer<'a>(doc: &'a Json, fragment: &str) -> Option<&'a Json> {
    let decoded = percent_encoding::percent_decode_str(fragment).decode_utf8().ok()?;
    let mut at = doc;
    for token in decoded.split('/').skip(1) {
        let token = token.replace("~1", "/").replace("~0", "~");
        at = match at {
            Json::Object(m) => m.get(&token)?,
            Json::Array(a) => a.get(token.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(at)
}

/// The subschema named by `$anchor` (2019-09+) or a `$id`/`id` of `#name` (drafts 4 to 7).
fn anchor<'a>(s: &'a Json, name: &str, depth: usize) -> Option<&'a Json> {
    if depth > MAX_DEPTH {
        return None;
    }
    match s {
        Json::Object(m) => {
            let hash = format!("#{name}");
            if m.get("$anchor").and_then(Json::as_str) == Some(name)
                || m.get("$id").or_else(|| m.get("id")).and_then(Json::as_str) == Some(hash.as_str())
            {
                return Some(s);
            }
            m.values().find_map(|v| anchor(v, name, depth + 1))
        }
        Json::Array(a) => a.iter().find_map(|v| anchor(v, name, depth + 1)),
        _ => None,
    }
}

fn is_type(v: &Json, t: &str) -> bool {
    match t {
        "null" => v.is_null(),
        "boolean" => v.is_boolean(),
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "number" => v.is_number(),
        // 1.0 is an integer (draft 6 and later: a number with no fractional part).
        "integer" => v.is_i64() || v.is_u64() || v.as_f64().is_some_and(|f| f.fract() == 0.0),
        _ => false,
    }
}

/// A text equal for values [`same`] calls equal: object keys sorted, numbers by value.
fn canonical(v: &Json, out: &mut String) {
    use std::fmt::Write;
    match v {
        Json::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => {
                let _ = write!(out, "{i}");
            }
            // Integral floats are written as the integer they equal (1.0 is 1).
            (None, Some(f)) if f.fract() == 0.0 && f.abs() < 9.2e18 => {
                let _ = write!(out, "{}", f as i64);
            }
            (None, Some(f)) => {
                let _ = write!(out, "{f:e}");
            }
            (None, None) => out.push_str(&n.to_string()),
        },
        Json::Array(items) => {
            out.push('[');
            for i in items {
                canonical(i, out);
                out.push(',');
            }
            out.push(']');
        }
        Json::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for k in keys {
                out.push_str(&Json::String(k.clone()).to_string());
                out.push(':');
                canonical(&m[k], out);
                out.push(',');
            }
            out.push('}');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// JSON equality with numbers compared by value (1 and 1.0 are the same).
fn same(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => x.as_f64() == y.as_f64(),
        },
        (Json::Array(x), Json::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b)),
        (Json::Object(x), Json::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// Cases shared by the unit tests and the e2e check against Python's `jsonschema`:
/// `(schema, instance, valid)`.
pub fn cases() -> Vec<(Json, Json, bool)> {
    use serde_json::json;
    let person = json!({
        "type": "object",
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 5},
            "age": {"type": "integer", "minimum": 0, "exclusiveMaximum": 150},
            "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": true, "maxItems": 2},
            "email": {"type": ["string", "null"], "pattern": "^[^@]+@[^@]+$"}
        },
        "required": ["name"],
        "additionalProperties": false
    });
    let defs = json!({
        "$defs": {"pos": {"type": "number", "exclusiveMinimum": 0}, "node": {
            "type": "object", "properties": {"v": {"$ref": "#/$defs/pos"}, "next": {"$ref": "#/$defs/node"}}}},
        "$ref": "#/$defs/node"
    });
    let draft4 = json!({"$schema": "http://json-schema.org/draft-04/schema#", "type": "number",
        "minimum": 1, "exclusiveMinimum": true, "definitions": {"x": {"type": "string"}}});
    let tuple = json!({"$schema": "http://json-schema.org/draft-07/schema#",
        "items": [{"type": "string"}, {"type": "integer"}], "additionalItems": false});
    let prefix = json!({"prefixItems": [{"type": "string"}], "items": {"type": "integer"}});
    let logic = json!({"oneOf": [{"type": "integer"}, {"type": "number", "multipleOf": 0.5}],
        "not": {"const": 2}});
    let cond = json!({"type": "object", "if": {"properties": {"k": {"const": "a"}}, "required": ["k"]},
        "then": {"required": ["a"]}, "else": {"required": ["b"]}});
    let misc = json!({"type": "object", "propertyNames": {"maxLength": 3},
        "patternProperties": {"^x_": {"type": "boolean"}}, "minProperties": 1,
        "dependentRequired": {"a": ["b"]}, "dependentSchemas": {"c": {"required": ["d"]}}});
    let deps7 = json!({"$schema": "http://json-schema.org/draft-07/schema#",
        "dependencies": {"a": ["b"], "c": {"required": ["d"]}}});
    let contains = json!({"type": "array", "contains": {"enum": [1.0, "x"]}, "minContains": 2, "maxContains": 3});
    let unevaluated = json!({"allOf": [{"properties": {"a": true}}], "properties": {"b": true},
        "unevaluatedProperties": false});
    vec![
        (person.clone(), json!({"name": "ann", "age": 4, "tags": ["a", "b"], "email": "a@b"}), true),
        (person.clone(), json!({"name": "ann", "email": null}), true),
        (person.clone(), json!({"age": 4}), false),
        (person.clone(), json!({"name": ""}), false),
        (person.clone(), json!({"name": "annabel"}), false),
        (person.clone(), json!({"name": "ann", "age": 4.5}), false),
        (person.clone(), json!({"name": "ann", "age": 4.0}), true),
        (person.clone(), json!({"name": "ann", "age": 150}), false),
        (person.clone(), json!({"name": "ann", "age": -1}), false),
        (person.clone(), json!({"name": "ann", "tags": ["a", "a"]}), false),
        (person.clone(), json!({"name": "ann", "tags": ["a", "b", "c"]}), false),
        (person.clone(), json!({"name": "ann", "email": "nope"}), false),
        (person.clone(), json!({"name": "ann", "extra": 1}), false),
        (person, json!([]), false),
        (defs.clone(), json!({"v": 1, "next": {"v": 2, "next": {}}}), true),
        (defs.clone(), json!({"v": 1, "next": {"v": 0}}), false),
        (defs, json!({"next": {"next": {"v": "x"}}}), false),
        (draft4.clone(), json!(1), false),
        (draft4.clone(), json!(1.5), true),
        (draft4, json!("1"), false),
        (tuple.clone(), json!(["a", 1]), true),
        (tuple.clone(), json!(["a"]), true),
        (tuple.clone(), json!(["a", 1, 2]), false),
        (tuple, json!([1, 1]), false),
        (prefix.clone(), json!(["a", 1, 2]), true),
        (prefix, json!(["a", 1, "b"]), false),
        (logic.clone(), json!(1.5), true),
        (logic.clone(), json!(3), false),
        (logic.clone(), json!(2), false),
        (logic, json!(1.25), false),
        (cond.clone(), json!({"k": "a", "a": 1}), true),
        (cond.clone(), json!({"k": "a", "b": 1}), false),
        (cond.clone(), json!({"b": 1}), true),
        (cond, json!({}), false),
        (misc.clone(), json!({"x_a": true}), true),
        (misc.clone(), json!({"x_a": 1}), false),
        (misc.clone(), json!({"long": 1}), false),
        (misc.clone(), json!({}), false),
        (misc.clone(), json!({"a": 1}), false),
        (misc.clone(), json!({"a": 1, "b": 2}), true),
        (misc.clone(), json!({"c": 1}), false),
        (misc, json!({"c": 1, "d": 1}), true),
        (deps7.clone(), json!({"a": 1}), false),
        (deps7.clone(), json!({"c": 1}), false),
        (deps7, json!({"a": 1, "b": 1, "c": 1, "d": 1}), true),
        (contains.clone(), json!([1, "x", 3]), true),
        (contains.clone(), json!([1, 3]), false),
        (contains, json!([1, 1, 1, 1]), false),
        (unevaluated.clone(), json!({"a": 1, "b": 2}), true),
        (unevaluated, json!({"a": 1, "c": 2}), false),
        (json!({"enum": [1, "a", null, [1]]}), json!([1.0]), true),
        (json!({"enum": [1, "a", null]}), json!(false), false),
        (json!(true), json!({"any": "thing"}), true),
        (json!(false), json!(null), false),
        (json!({"type": "string", "maxLength": 2}), json!("éé"), true),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shared_cases() {
        for (schema, instance, valid) in cases() {
            let s = JsonSchema::parse(&schema.to_string(), &[]).expect("parses");
            assert_eq!(s.validate(&instance).is_ok(), valid, "{schema} on {instance}: {:?}", s.validate(&instance));
        }
    }

    #[test]
    fn errors_name_the_field() {
        let s = JsonSchema::parse(
            r#"{"type":"object","properties":{"a":{"type":"array","items":{"type":"object","properties":{"b":{"type":"string"}}}}}}"#,
            &[],
        )
        .expect("parses");
        let e = s.validate(&json!({"a": [{"b": "x"}, {"b": 1}]})).expect_err("invalid");
        assert!(e.contains("field 'a[1].b'"), "{e}");
        assert!(e.contains("expected type \"string\""), "{e}");
    }

    #[test]
    fn invalid_schemas_are_refused() {
        for bad in [
            "nope",
            "[1]",
            r#"{"type":"text"}"#,
            r#"{"pattern":"(("}"#,
            r##"{"$ref":"#/definitions/missing"}"##,
            r#"{"properties":{"a":5}}"#,
            r#"{"$ref":"other.json"}"#,
        ] {
            assert!(JsonSchema::parse(bad, &[]).is_err(), "{bad}");
        }
    }

    #[test]
    fn references_by_name_and_id() {
        let addr = r#"{"$id":"https://example.com/addr.json","type":"object","properties":{"city":{"type":"string"}},"required":["city"]}"#;
        let main = r#"{"type":"object","properties":{"home":{"$ref":"addr.json"}}}"#;
        let s = JsonSchema::parse(main, &[("addr.json".into(), addr.into())]).expect("parses");
        assert!(s.validate(&json!({"home": {"city": "x"}})).is_ok());
        assert!(s.validate(&json!({"home": {}})).is_err());
        let by_id = r#"{"properties":{"home":{"$ref":"https://example.com/addr.json#"}}}"#;
        let s = JsonSchema::parse(by_id, &[("other-name".into(), addr.into())]).expect("parses");
        assert!(s.validate(&json!({"home": {"city": 1}})).is_err());
    }

    #[test]
    fn unique_items_is_linear_and_compares_by_value() {
        let s = JsonSchema::parse(r#"{"type":"array","uniqueItems":true}"#, &[]).expect("schema");
        assert!(s.validate(&json!([1, 1.0])).is_err(), "1 and 1.0 are the same");
        assert!(s.validate(&json!([{"a": 1, "b": [2]}, {"b": [2.0], "a": 1}])).is_err(), "key order");
        assert!(s.validate(&json!([1, 1.5, "1", [1], {"1": 1}, null, true])).is_ok());
        // 200,000 distinct items (pairwise: 2e10 comparisons, minutes), then one repeat at the end.
        let mut big: Vec<Json> = (0..200_000).map(Json::from).collect();
        assert!(s.validate(&Json::Array(big.clone())).is_ok());
        big.push(json!(7.0));
        assert!(s.validate(&Json::Array(big)).expect_err("repeat").contains("7.0 repeats"));
    }

    #[test]
    fn self_reference_without_progress_is_bounded() {
        let s = JsonSchema::parse(r##"{"$ref":"#"}"##, &[]).expect("parses");
        assert!(s.validate(&json!(1)).is_err());
        // Exponential branching ends at the step budget, with an error, not after ages.
        let s = JsonSchema::parse(r##"{"anyOf":[{"$ref":"#"},{"$ref":"#"}]}"##, &[]).expect("parses");
        assert!(s.validate(&json!(1)).is_err());
        assert!(s.steps.get() > MAX_STEPS, "the step budget ended it after {} steps", s.steps.get());
    }
}
