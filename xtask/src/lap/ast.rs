//! The LAP syntax tree: what [`crate::lap::parse`] produces and [`crate::lap::print`] consumes.
//!
//! The tree is lossless in the sense that printing it and parsing the text again gives an equal
//! tree. Every node carries a [`Pos`].
//!
//! **Equality is exact**: `==` on any node compares positions too, so a test that asserts a
//! node asserts where it came from. To compare content only, clear the positions first
//! ([`ClearPos::without_pos`], `Pos::default()` everywhere) or use [`Document::same_tree`],
//! which also ignores warnings and the place of `@end` (what the print/re-parse round trip
//! guarantees: printing moves everything).

/// A source position: 1-based line and 1-based column, the column counted in Unicode scalar
/// values (chars) of the physical line.
///
/// `==` compares line and column; [`Pos::default`] (`0:0`) stands for "no position", what
/// [`ClearPos::without_pos`] leaves.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    /// 1-based line number.
    pub line: u32,
    /// 1-based column, in chars.
    pub col: u32,
}

impl Pos {
    /// Builds a position.
    pub fn new(line: u32, col: u32) -> Self {
        Pos { line, col }
    }

    /// True when both positions name the same line and column (the same as `==`).
    pub fn same_place(&self, other: &Pos) -> bool {
        self == other
    }
}

/// Debug prints `line:col` (compact, for snapshots).
impl std::fmt::Debug for Pos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

impl std::fmt::Display for Pos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// A whole LAP file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Document {
    /// The version after `@lap` (`v0.3`).
    pub lap_version: String,
    /// `@api <name>`.
    pub api: Option<String>,
    /// `@base <url>`.
    pub base: Option<String>,
    /// `@version <text>`.
    pub version: Option<String>,
    /// Document-level `@auth <text>` (before the first endpoint).
    pub auth: Option<String>,
    /// `@common_fields {…}`: params removed from every endpoint and listed once.
    /// `None` when the directive is absent.
    pub common_fields: Option<Vec<Param>>,
    /// `@endpoints <n>` as declared (a mismatch with `endpoints.len()` is a warning).
    pub endpoint_count: Option<u32>,
    /// Each `@hint <text>`, in order.
    pub hints: Vec<String>,
    /// `@toc …` raw text; see [`Document::toc_entries`].
    pub toc: Option<String>,
    /// `@type Name …` definitions, in order.
    pub types: Vec<TypeDef>,
    /// Every endpoint in file order; groups are flattened into [`Endpoint::group`].
    pub endpoints: Vec<Endpoint>,
    /// Extension directives (see `ParseOptions`) that appeared before the first endpoint.
    pub extensions: Vec<Extension>,
    /// Unknown directives that appeared before the first endpoint (each also gave a warning).
    pub unknown: Vec<Unknown>,
    /// Non-fatal findings, in source order.
    pub warnings: Vec<Warning>,
    /// Position of the terminating `@end`; `None` only when `ParseOptions::allow_missing_end`
    /// let a truncated file through.
    pub end: Option<Pos>,
}

impl Document {
    /// Compares two documents ignoring positions, warnings and where `@end` stands (only
    /// whether it is there): the print/re-parse guarantee.
    pub fn same_tree(&self, other: &Document) -> bool {
        let shape = |d: &Document| {
            let mut d = d.without_pos();
            d.warnings.clear();
            d.end = d.end.map(|_| Pos::default());
            d
        };
        shape(self) == shape(other)
    }

    /// The `@toc` entries as `(group name, count)`, split at `", "` after each `(<digits>)`.
    /// Names may themselves contain parens and commas (OData paths); an entry without a
    /// trailing `(<digits>)` gets the count 0.
    pub fn toc_entries(&self) -> Vec<(String, u32)> {
        let Some(toc) = &self.toc else {
            return Vec::new();
        };
        crate::lap::toc::split_toc(toc)
    }

    /// The type definition called `name`, if any.
    pub fn type_def(&self, name: &str) -> Option<&TypeDef> {
        self.types.iter().find(|t| t.name == name)
    }
}

/// One `@endpoint METHOD PATH` block with everything up to the next endpoint.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Endpoint {
    /// The method token (`GET`, `POST`, … but also `UNARY`, `PUB`, `EVENT`).
    pub method: String,
    /// The path, verbatim (may hold `?query`, `#frag`, `{name+}`, …).
    pub path: String,
    /// The `@group` this endpoint sits in, if groups are used.
    pub group: Option<String>,
    /// `@desc <text>`.
    pub desc: Option<String>,
    /// Per-endpoint `@auth` override.
    pub auth: Option<String>,
    /// `@body → T` / `@body -> T` (a type reference, possibly nullable `T?`).
    pub body: Option<TypeExpr>,
    /// `@required {…}` params (several `@required` lines are concatenated).
    pub required: Vec<Param>,
    /// `@optional {…}` params (several `@optional` lines are concatenated).
    pub optional: Vec<Param>,
    /// Every `@returns(code) …`, in order.
    pub returns: Vec<Returns>,
    /// The items of `@errors {…}` (several lines are concatenated).
    pub errors: Vec<ErrorItem>,
    /// `@example_request <json>`, verbatim.
    pub example_request: Option<String>,
    /// Extension directives known to the `ParseOptions` used.
    pub extensions: Vec<Extension>,
    /// Unknown directives inside this endpoint (each also gave a warning).
    pub unknown: Vec<Unknown>,
    /// Position of the `@endpoint` line.
    pub pos: Pos,
}

impl Endpoint {
    /// The first extension with this keyword (without `@`).
    pub fn extension(&self, keyword: &str) -> Option<&Extension> {
        self.extensions.iter().find(|e| e.keyword == keyword)
    }

    /// All extensions with this keyword (without `@`), in order.
    pub fn extensions_named<'a>(
        &'a self,
        keyword: &'a str,
    ) -> impl Iterator<Item = &'a Extension> + 'a {
        self.extensions.iter().filter(move |e| e.keyword == keyword)
    }
}

/// A param item of `@required`, `@optional`, `@common_fields` or a `Params` extension:
/// `NAME ": " TYPE ["=" DEFAULT] [" # " DESC]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    /// The name verbatim (may hold `[]`, `:`, `/`, spaces, a trailing `!` in overlay lists).
    pub name: String,
    /// The type.
    pub ty: TypeExpr,
    /// The default after `=`, verbatim (Python repr: `False`, `['a', 'b']`, `{}`…).
    pub default: Option<String>,
    /// The description after `" # "`, verbatim (unescaped: may hold `,`, `#`, braces…).
    pub desc: Option<String>,
    /// Position of the name.
    pub pos: Pos,
}

impl Param {
    /// The name without an overlay `!` (required) marker, and whether it had one.
    pub fn name_and_marker(&self) -> (&str, bool) {
        match self.name.strip_suffix('!') {
            Some(bare) => (bare, true),
            None => (&self.name, false),
        }
    }
}

/// A field of a `{…}` children list, a `@returns` body or a `@type` body:
/// `NAME["!"] ": " TYPE`.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The name without the `!` marker.
    pub name: String,
    /// True when the name carried the `!` (required) marker.
    pub required: bool,
    /// The type (its `nullable` holds the `?` marker).
    pub ty: TypeExpr,
    /// Position of the name.
    pub pos: Pos,
}

/// A type expression: the types of the LAP v0.3 specification (`docs/SPEC.md` of
/// <https://github.com/Lap-Platform/LAP>), widened to what published files hold (`map<K,V>`,
/// nested formats, named types).
#[derive(Debug, Clone, PartialEq)]
pub struct TypeExpr {
    /// What kind of type this is.
    pub kind: TypeKind,
    /// The raw format text of a `(fmt)` group: `int32`, `date-time`, `ISO 3166-1 alpha-2`…
    pub format: Option<String>,
    /// Enum values from `(a/b/c)` (split at top-level `/`, or at `|` when there is no `/`).
    /// Set for `enum(…)`, for the second group of `type(fmt)(enum)`, for a group after an
    /// array, and for a single group that holds a top-level `/` or `|` (except a mix of
    /// all-digit and other parts, `str(ipv6/128)`, which is a format).
    pub enum_values: Option<Vec<String>>,
    /// Inline fields `{a!: T, b: T?}` after the base (`map{…}`, `Cluster?{…}`).
    pub children: Option<Vec<Field>>,
    /// The `?` marker.
    pub nullable: bool,
    /// Position of the first char of the type.
    pub pos: Pos,
}

impl TypeExpr {
    /// A plain type of this kind (no format, enum, children; not nullable; position 0:0).
    pub fn new(kind: TypeKind) -> Self {
        TypeExpr {
            kind,
            format: None,
            enum_values: None,
            children: None,
            nullable: false,
            pos: Pos::default(),
        }
    }

    /// A reference to a named type.
    pub fn named(name: impl Into<String>) -> Self {
        TypeExpr::new(TypeKind::Named(name.into()))
    }

    /// The item type when this is an array.
    pub fn array_item(&self) -> Option<&TypeExpr> {
        match &self.kind {
            TypeKind::Array(item) => Some(item),
            _ => None,
        }
    }

    /// The key and value types when this is `map<K,V>`.
    pub fn map_kv(&self) -> Option<(&TypeExpr, &TypeExpr)> {
        match &self.kind {
            TypeKind::MapKv(k, v) => Some((k, v)),
            _ => None,
        }
    }
}

/// The kind of a [`TypeExpr`].
#[derive(Debug, Clone, PartialEq)]
pub enum TypeKind {
    /// `str`
    Str,
    /// `int`
    Int,
    /// `num`
    Num,
    /// `float` (documented, never emitted)
    Float,
    /// `bool`
    Bool,
    /// `map`: an object, with or without children.
    Map,
    /// `any`
    Any,
    /// `bytes`
    Bytes,
    /// `null`
    Null,
    /// `file`
    File,
    /// `enum` (protobuf: `enum(A/B)`)
    Enum,
    /// Any other identifier: a named type (`Tag`, `VPC`, `integer`…).
    Named(String),
    /// `[T]`
    Array(Box<TypeExpr>),
    /// `map<K,V>`
    MapKv(Box<TypeExpr>, Box<TypeExpr>),
}

impl TypeKind {
    /// The keyword of a base kind (`str`, `map`…); `None` for named, array and `map<K,V>`.
    pub fn keyword(&self) -> Option<&'static str> {
        Some(match self {
            TypeKind::Str => "str",
            TypeKind::Int => "int",
            TypeKind::Num => "num",
            TypeKind::Float => "float",
            TypeKind::Bool => "bool",
            TypeKind::Map => "map",
            TypeKind::Any => "any",
            TypeKind::Bytes => "bytes",
            TypeKind::Null => "null",
            TypeKind::File => "file",
            TypeKind::Enum => "enum",
            TypeKind::Named(_) | TypeKind::Array(_) | TypeKind::MapKv(..) => return None,
        })
    }

    /// The base kind for a keyword; any other identifier gives `Named`.
    pub fn from_ident(ident: &str) -> TypeKind {
        match ident {
            "str" => TypeKind::Str,
            "int" => TypeKind::Int,
            "num" => TypeKind::Num,
            "float" => TypeKind::Float,
            "bool" => TypeKind::Bool,
            "map" => TypeKind::Map,
            "any" => TypeKind::Any,
            "bytes" => TypeKind::Bytes,
            "null" => TypeKind::Null,
            "file" => TypeKind::File,
            "enum" => TypeKind::Enum,
            other => TypeKind::Named(other.to_string()),
        }
    }
}

/// One `@returns(code) …` line.
#[derive(Debug, Clone, PartialEq)]
pub struct Returns {
    /// The code between the parens, verbatim (`200`, `2XX`, `OK`, `PUB`, `event`).
    pub code: String,
    /// What follows the `)`.
    pub body: ReturnsBody,
    /// Position of the directive.
    pub pos: Pos,
}

/// The four forms of a `@returns` line (plus the `→ T` reference).
#[derive(Debug, Clone, PartialEq)]
pub enum ReturnsBody {
    /// `@returns(C)`
    None,
    /// `@returns(C) free text` (may hold braces after its first char).
    Text(String),
    /// `@returns(C) {fields}` or `@returns(C) {fields} # tail`.
    Fields {
        /// The top-level fields.
        fields: Vec<Field>,
        /// The text after `" # "`, if any.
        tail: Option<String>,
    },
    /// `@returns(C) → T` or `-> T`.
    TypeRef(TypeExpr),
}

/// One item of `@errors {…}`: `CODE[:TYPE][: DESC]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorItem {
    /// The status code text (`404`, `4XX`, `default`…).
    pub code: String,
    /// The typed error shape (`{500:SearchException: …}`).
    pub type_name: Option<String>,
    /// The description, verbatim.
    pub desc: Option<String>,
    /// Position of the code.
    pub pos: Pos,
}

/// `@type Name {fields}` or `@type Name TYPE`.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeDef {
    /// The defined name.
    pub name: String,
    /// The definition.
    pub body: TypeDefBody,
    /// Position of the directive.
    pub pos: Pos,
}

/// The right-hand side of a `@type`.
#[derive(Debug, Clone, PartialEq)]
pub enum TypeDefBody {
    /// `{a: T, b: T?{…}}`: response-field syntax (`!` markers allowed).
    Fields(Vec<Field>),
    /// Any other type expression: `str(none/timedesc/timeasc)`, `[Tag]`, `map<str,str>`.
    Alias(TypeExpr),
}

/// An extension directive known to the `ParseOptions` used (overlay files).
#[derive(Debug, Clone, PartialEq)]
pub struct Extension {
    /// The keyword without `@` (`name`, `headers`…).
    pub keyword: String,
    /// The `(arg)` right after the keyword, for kinds that take one (`@headers(201)`).
    pub arg: Option<String>,
    /// The body.
    pub body: ExtBody,
    /// Position of the directive.
    pub pos: Pos,
}

/// The body of an [`Extension`].
#[derive(Debug, Clone, PartialEq)]
pub enum ExtBody {
    /// The rest of the line, verbatim.
    Text(String),
    /// A braced param list (same grammar as `@required`).
    Params(Vec<Param>),
}

/// A directive the parser does not know; kept verbatim (and reported as a warning).
#[derive(Debug, Clone, PartialEq)]
pub struct Unknown {
    /// The keyword without `@` (may be empty for a bare `@`).
    pub keyword: String,
    /// Everything after the keyword (leading spaces removed), verbatim.
    pub text: String,
    /// Position of the directive.
    pub pos: Pos,
}

/// A non-fatal finding.
#[derive(Debug, Clone, PartialEq)]
pub struct Warning {
    /// Where.
    pub pos: Pos,
    /// What (one line, no trailing period).
    pub message: String,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "warning: {}: {}", self.pos, self.message)
    }
}

/// Clearing positions, to compare content only (`a.without_pos() == b.without_pos()`).
pub trait ClearPos {
    /// Sets every [`Pos`] in the node (and below) to [`Pos::default`].
    fn clear_pos(&mut self);

    /// A copy with every position cleared.
    fn without_pos(&self) -> Self
    where
        Self: Clone,
    {
        let mut copy = self.clone();
        copy.clear_pos();
        copy
    }
}

impl ClearPos for Pos {
    fn clear_pos(&mut self) {
        *self = Pos::default();
    }
}

impl<T: ClearPos> ClearPos for Option<T> {
    fn clear_pos(&mut self) {
        if let Some(x) = self {
            x.clear_pos();
        }
    }
}

impl<T: ClearPos> ClearPos for Vec<T> {
    fn clear_pos(&mut self) {
        self.iter_mut().for_each(ClearPos::clear_pos);
    }
}

impl<T: ClearPos> ClearPos for Box<T> {
    fn clear_pos(&mut self) {
        (**self).clear_pos();
    }
}

impl ClearPos for Document {
    fn clear_pos(&mut self) {
        self.common_fields.clear_pos();
        self.types.clear_pos();
        self.endpoints.clear_pos();
        self.extensions.clear_pos();
        self.unknown.clear_pos();
        self.warnings.clear_pos();
        self.end.clear_pos();
    }
}

impl ClearPos for Endpoint {
    fn clear_pos(&mut self) {
        self.body.clear_pos();
        self.required.clear_pos();
        self.optional.clear_pos();
        self.returns.clear_pos();
        self.errors.clear_pos();
        self.extensions.clear_pos();
        self.unknown.clear_pos();
        self.pos.clear_pos();
    }
}

impl ClearPos for Param {
    fn clear_pos(&mut self) {
        self.ty.clear_pos();
        self.pos.clear_pos();
    }
}

impl ClearPos for Field {
    fn clear_pos(&mut self) {
        self.ty.clear_pos();
        self.pos.clear_pos();
    }
}

impl ClearPos for TypeExpr {
    fn clear_pos(&mut self) {
        self.kind.clear_pos();
        self.children.clear_pos();
        self.pos.clear_pos();
    }
}

impl ClearPos for TypeKind {
    fn clear_pos(&mut self) {
        match self {
            TypeKind::Array(item) => item.clear_pos(),
            TypeKind::MapKv(k, v) => {
                k.clear_pos();
                v.clear_pos();
            }
            _ => {}
        }
    }
}

impl ClearPos for Returns {
    fn clear_pos(&mut self) {
        match &mut self.body {
            ReturnsBody::Fields { fields, .. } => fields.clear_pos(),
            ReturnsBody::TypeRef(t) => t.clear_pos(),
            ReturnsBody::None | ReturnsBody::Text(_) => {}
        }
        self.pos.clear_pos();
    }
}

impl ClearPos for ErrorItem {
    fn clear_pos(&mut self) {
        self.pos.clear_pos();
    }
}

impl ClearPos for TypeDef {
    fn clear_pos(&mut self) {
        match &mut self.body {
            TypeDefBody::Fields(f) => f.clear_pos(),
            TypeDefBody::Alias(t) => t.clear_pos(),
        }
        self.pos.clear_pos();
    }
}

impl ClearPos for Extension {
    fn clear_pos(&mut self) {
        if let ExtBody::Params(p) = &mut self.body {
            p.clear_pos();
        }
        self.pos.clear_pos();
    }
}

impl ClearPos for Unknown {
    fn clear_pos(&mut self) {
        self.pos.clear_pos();
    }
}

impl ClearPos for Warning {
    fn clear_pos(&mut self) {
        self.pos.clear_pos();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_take_part_in_equality() {
        let a = Param {
            name: "n".into(),
            ty: TypeExpr::new(TypeKind::Int),
            default: None,
            desc: None,
            pos: Pos::new(3, 5),
        };
        let mut b = a.clone();
        b.pos = Pos::new(4, 5);
        assert_ne!(a, b);
        assert_eq!(a.without_pos(), b.without_pos());
        b.ty.pos = Pos::new(9, 9);
        assert_ne!(a.without_pos().ty, b.ty);
        assert_eq!(a.without_pos(), b.without_pos());
        b.name = "m".into();
        assert_ne!(a.without_pos(), b.without_pos());
    }

    /// The parser's positions are asserted exactly: the param's name and its type.
    #[test]
    fn parsed_positions_are_exact() {
        let doc = crate::lap::parse(
            "@lap v0.3\n@endpoint GET /x\n@required {ab: int}\n@end\n",
            &crate::lap::ParseOptions::default(),
        )
        .unwrap();
        let mut ty = TypeExpr::new(TypeKind::Int);
        ty.pos = Pos::new(3, 16);
        let want = Param {
            name: "ab".into(),
            ty,
            default: None,
            desc: None,
            pos: Pos::new(3, 12),
        };
        assert_eq!(doc.endpoints[0].required, std::slice::from_ref(&want));
        assert_eq!(doc.endpoints[0].pos, Pos::new(2, 1));
        let moved = crate::lap::parse(
            "@lap v0.3\n\n@endpoint GET /x\n@required {ab: int}\n@end\n",
            &crate::lap::ParseOptions::default(),
        )
        .unwrap();
        assert_ne!(moved.endpoints[0].required, [want]);
        assert!(doc.same_tree(&moved));
    }
}
