//! A small parser for human-readable signatures that, unlike alloy's, accepts named tuple
//! components: `f((uint256 amount, address to)[] legs)`, `tuple(uint256 a, bool b) t`.

use alloy_dyn_abi::DynSolType;
use alloy_json_abi::{Event, EventParam, Function, Param, StateMutability};

/// One parsed parameter.
struct Raw {
    ty: String,
    components: Vec<Raw>,
    name: String,
    indexed: bool,
}

struct Cursor<'a> {
    s: &'a str,
    i: usize,
}

impl<'a> Cursor<'a> {
    fn ws(&mut self) {
        while self.s[self.i..].starts_with(|c: char| c.is_whitespace()) {
            self.i += 1;
        }
    }

    fn peek(&mut self) -> Option<char> {
        self.ws();
        self.s[self.i..].chars().next()
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.i += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: char) -> Result<(), String> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.err(&format!("expected `{c}`")))
        }
    }

    fn ident(&mut self) -> Option<&'a str> {
        self.ws();
        let rest = &self.s[self.i..];
        let mut end = 0;
        for (k, c) in rest.char_indices() {
            let ok =
                c == '_' || c == '$' || c.is_ascii_alphabetic() || (k > 0 && c.is_ascii_digit());
            if !ok {
                break;
            }
            end = k + c.len_utf8();
        }
        if end == 0 {
            return None;
        }
        self.i += end;
        Some(&rest[..end])
    }

    /// Peeks the next identifier without consuming it.
    fn peek_ident(&mut self) -> Option<&'a str> {
        let save = self.i;
        let id = self.ident();
        self.i = save;
        id
    }

    fn err(&self, what: &str) -> String {
        format!("{what} at character {}", self.i + 1)
    }
}

fn params(c: &mut Cursor<'_>, event: bool) -> Result<Vec<Raw>, String> {
    c.expect('(')?;
    let mut out = Vec::new();
    if c.eat(')') {
        return Ok(out);
    }
    loop {
        out.push(param(c, event)?);
        if c.eat(')') {
            return Ok(out);
        }
        if !c.eat(',') {
            return Err(c.err("expected `,` or `)`"));
        }
    }
}

fn param(c: &mut Cursor<'_>, event: bool) -> Result<Raw, String> {
    let (mut ty, components) = if c.peek() == Some('(') {
        ("tuple".to_owned(), params(c, false)?)
    } else {
        let start = c.i;
        let Some(id) = c.ident() else {
            return Err(c.err("expected a type"));
        };
        if id == "tuple" && c.peek() == Some('(') {
            ("tuple".to_owned(), params(c, false)?)
        } else {
            let canonical = match id {
                "uint" => "uint256".to_owned(),
                "int" => "int256".to_owned(),
                "byte" => "bytes1".to_owned(),
                other => other.to_owned(),
            };
            if DynSolType::parse(&canonical).is_err() || canonical == "tuple" {
                c.i = start;
                return Err(c.err(&format!("unknown type `{id}`")));
            }
            (canonical, Vec::new())
        }
    };
    // array suffixes
    while c.eat('[') {
        let start = c.i;
        while c.s[c.i..].starts_with(|ch: char| ch.is_ascii_digit()) {
            c.i += 1;
        }
        let size = &c.s[start..c.i];
        if size.starts_with('0') {
            return Err(c.err("array size must be positive"));
        }
        c.expect(']')?;
        ty.push('[');
        ty.push_str(size);
        ty.push(']');
    }
    let mut indexed = false;
    let mut name = String::new();
    while let Some(word) = c.peek_ident() {
        match word {
            "indexed" if event && !indexed => indexed = true,
            "memory" | "calldata" | "storage" => {}
            _ if name.is_empty() => name = word.to_owned(),
            _ => return Err(c.err(&format!("unexpected `{word}`"))),
        }
        c.ident();
    }
    Ok(Raw {
        ty,
        components,
        name,
        indexed,
    })
}

fn to_param(r: Raw) -> Param {
    Param {
        ty: r.ty,
        name: r.name,
        components: r.components.into_iter().map(to_param).collect(),
        internal_type: None,
    }
}

fn header<'a>(c: &mut Cursor<'a>, keyword: &str) -> Result<&'a str, String> {
    if c.peek_ident() == Some(keyword) {
        c.ident();
    }
    c.ident().ok_or_else(|| c.err("expected a name"))
}

/// Parses a function signature.
pub(super) fn function(text: &str) -> Result<Function, String> {
    let mut c = Cursor { s: text, i: 0 };
    let name = header(&mut c, "function")?.to_owned();
    let inputs = params(&mut c, false)?.into_iter().map(to_param).collect();
    let mut outputs = Vec::new();
    let mut state_mutability = StateMutability::NonPayable;
    while let Some(word) = c.ident() {
        match word {
            "view" => state_mutability = StateMutability::View,
            "pure" => state_mutability = StateMutability::Pure,
            "payable" => state_mutability = StateMutability::Payable,
            "nonpayable" => state_mutability = StateMutability::NonPayable,
            "external" | "public" => {}
            "returns" => outputs = params(&mut c, false)?.into_iter().map(to_param).collect(),
            other => return Err(c.err(&format!("unexpected `{other}`"))),
        }
    }
    if c.peek().is_some() {
        return Err(c.err("unexpected text"));
    }
    Ok(Function {
        name,
        inputs,
        outputs,
        state_mutability,
    })
}

/// Parses an event signature.
pub(super) fn event(text: &str) -> Result<Event, String> {
    let mut c = Cursor { s: text, i: 0 };
    let name = header(&mut c, "event")?.to_owned();
    let inputs = params(&mut c, true)?
        .into_iter()
        .map(|r| EventParam {
            ty: r.ty,
            name: r.name,
            indexed: r.indexed,
            components: r.components.into_iter().map(to_param).collect(),
            internal_type: None,
        })
        .collect();
    let mut anonymous = false;
    if c.peek_ident() == Some("anonymous") {
        c.ident();
        anonymous = true;
    }
    if c.peek().is_some() {
        return Err(c.err("unexpected text"));
    }
    Ok(Event {
        name,
        inputs,
        anonymous,
    })
}

fn write_type(ty: &str, components: &[Param], out: &mut String) {
    if let Some(suffix) = ty.strip_prefix("tuple") {
        out.push('(');
        for (i, p) in components.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            write_param(p, out);
        }
        out.push(')');
        out.push_str(suffix);
    } else {
        out.push_str(ty);
    }
}

fn write_param(p: &Param, out: &mut String) {
    write_type(&p.ty, &p.components, out);
    if !p.name.is_empty() {
        out.push(' ');
        out.push_str(&p.name);
    }
}

fn write_list(ps: &[Param], out: &mut String) {
    out.push('(');
    for (i, p) in ps.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_param(p, out);
    }
    out.push(')');
}

/// `name(type name, ...) [view|pure|payable] [returns (...)]`.
pub(super) fn display_function(f: &Function) -> String {
    let mut s = f.name.clone();
    write_list(&f.inputs, &mut s);
    match f.state_mutability {
        StateMutability::View => s.push_str(" view"),
        StateMutability::Pure => s.push_str(" pure"),
        StateMutability::Payable => s.push_str(" payable"),
        StateMutability::NonPayable => {}
    }
    if !f.outputs.is_empty() {
        s.push_str(" returns ");
        write_list(&f.outputs, &mut s);
    }
    s
}

/// `Name(type [indexed] name, ...) [anonymous]`.
pub(super) fn display_event(e: &Event) -> String {
    let mut s = e.name.clone();
    s.push('(');
    for (i, p) in e.inputs.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        write_type(&p.ty, &p.components, &mut s);
        if p.indexed {
            s.push_str(" indexed");
        }
        if !p.name.is_empty() {
            s.push(' ');
            s.push_str(&p.name);
        }
    }
    s.push(')');
    if e.anonymous {
        s.push_str(" anonymous");
    }
    s
}
