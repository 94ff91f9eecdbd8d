//! A small JSON reader for golden files (the project has no JSON crate). Numbers are kept as
//! text, so u64 and f64 compare exactly. It panics on malformed input: it only reads test data.

#![allow(dead_code)]

#[derive(Debug)]
pub enum Json {
    Null,
    Bool(bool),
    Num(String),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    pub fn parse(text: &str) -> Json {
        let mut p = JsonParser { s: text.as_bytes(), i: 0 };
        let v = p.value();
        p.ws();
        assert_eq!(p.i, p.s.len(), "trailing JSON");
        v
    }
    pub fn find(&self, key: &str) -> Option<&Json> {
        let Json::Obj(m) = self else { panic!("not an object: {self:?}") };
        m.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
    pub fn get(&self, key: &str) -> &Json {
        self.find(key).unwrap_or_else(|| panic!("missing key {key}"))
    }
    pub fn items(&self) -> &[Json] {
        let Json::Arr(v) = self else { panic!("not an array: {self:?}") };
        v
    }
    pub fn str(&self) -> &str {
        let Json::Str(s) = self else { panic!("not a string: {self:?}") };
        s
    }
    pub fn u64(&self) -> u64 {
        let Json::Num(n) = self else { panic!("not a number: {self:?}") };
        n.parse().unwrap_or_else(|_| panic!("not a u64: {n}"))
    }
    pub fn f64(&self) -> f64 {
        let Json::Num(n) = self else { panic!("not a number: {self:?}") };
        n.parse().unwrap_or_else(|_| panic!("not a number: {n}"))
    }
    pub fn bool(&self) -> bool {
        let Json::Bool(b) = self else { panic!("not a bool: {self:?}") };
        *b
    }
    /// A token id, or `None` for null.
    pub fn opt_u32(&self) -> Option<u32> {
        if let Json::Null = self { None } else { Some(self.u64() as u32) }
    }
    /// An array of token ids.
    pub fn ids(&self) -> Vec<u32> {
        self.items().iter().map(|v| v.u64() as u32).collect()
    }
}

struct JsonParser<'a> {
    s: &'a [u8],
    i: usize,
}

impl JsonParser<'_> {
    fn ws(&mut self) {
        while self.s.get(self.i).is_some_and(|c| c.is_ascii_whitespace()) {
            self.i += 1;
        }
    }
    fn eat(&mut self, lit: &str) -> bool {
        let ok = self.s[self.i..].starts_with(lit.as_bytes());
        self.i += if ok { lit.len() } else { 0 };
        ok
    }
    fn value(&mut self) -> Json {
        self.ws();
        let c = self.s[self.i];
        match c {
            b'{' => self.object(),
            b'[' => self.list(),
            b'"' => Json::Str(self.string()),
            _ if self.eat("null") => Json::Null,
            _ if self.eat("true") => Json::Bool(true),
            _ if self.eat("false") => Json::Bool(false),
            _ => {
                let start = self.i;
                while self.s.get(self.i).is_some_and(|c| !b",]} \n".contains(c)) {
                    self.i += 1;
                }
                Json::Num(String::from_utf8(self.s[start..self.i].to_vec()).unwrap())
            }
        }
    }
    fn list(&mut self) -> Json {
        self.i += 1;
        let mut v = Vec::new();
        while {
            self.ws();
            !self.eat("]")
        } {
            v.push(self.value());
            self.ws();
            self.eat(",");
        }
        Json::Arr(v)
    }
    fn object(&mut self) -> Json {
        self.i += 1;
        let mut m = Vec::new();
        while {
            self.ws();
            !self.eat("}")
        } {
            let k = self.string();
            self.ws();
            assert!(self.eat(":"), "expected ':' at {}", self.i);
            m.push((k, self.value()));
            self.ws();
            self.eat(",");
        }
        Json::Obj(m)
    }
    fn string(&mut self) -> String {
        assert!(self.eat("\""), "expected a string at {}", self.i);
        let start = self.i;
        let mut out = Vec::new();
        loop {
            let c = self.s[self.i];
            self.i += 1;
            match c {
                b'"' => {
                    return String::from_utf8(out)
                        .unwrap_or_else(|_| panic!("bad UTF-8 at {start}"));
                }
                b'\\' => {
                    let e = self.s[self.i];
                    self.i += 1;
                    let ch = match e {
                        b'u' => self.unicode_escape(),
                        b'n' => '\n',
                        b't' => '\t',
                        b'r' => '\r',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        other => char::from(other),
                    };
                    out.extend(ch.encode_utf8(&mut [0; 4]).as_bytes());
                }
                _ => out.push(c),
            }
        }
    }
    /// The character of a `\uXXXX` escape (after the `u`), joining a surrogate pair.
    fn unicode_escape(&mut self) -> char {
        let hex = |p: &mut Self| {
            let h = std::str::from_utf8(&p.s[p.i..p.i + 4]).unwrap();
            p.i += 4;
            u32::from_str_radix(h, 16).unwrap()
        };
        let hi = hex(self);
        if (0xd800..0xdc00).contains(&hi) {
            assert!(self.eat("\\u"), "lone surrogate at {}", self.i);
            let lo = hex(self);
            return char::from_u32(0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00)).unwrap();
        }
        char::from_u32(hi).unwrap()
    }
}
