//! The intermediate representation (IR) of an API: plain data, no syntax left in it.
//!
//! xtask lowers a LAP document (plus our overlay) into an [`Api`]; the emitters turn an
//! [`Api`] into Rust. Names here are the names on the wire (`imageName`, `Docker-Content-Digest`)
//! or the chosen operation names (`get_tags`); turning them into safe Rust identifiers is the
//! emitters' job. Anonymous inline objects are hoisted into [`NamedType`]s by lowering, so a
//! [`TypeRef`] never holds a struct body.

use serde::Serialize;

/// A whole API.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Api {
    /// The API's title (`@api`).
    pub title: String,
    /// The API version (`@version`), if stated.
    pub version: Option<String>,
    /// The base URL (`@base`), if stated.
    pub base_url: Option<String>,
    /// The default auth, as written (`@auth`), if stated.
    pub auth: Option<String>,
    /// The operations, in spec order.
    pub operations: Vec<Operation>,
    /// The named types (models and enums), sorted by name.
    pub types: Vec<NamedType>,
}

/// One operation: one method on the client.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Operation {
    /// The operation's name in snake_case (`get_tags`), unique within the API.
    pub name: String,
    /// The HTTP method, upper case (`GET`).
    pub method: String,
    /// The path template.
    pub path: PathTemplate,
    /// The documentation (`@desc`), if any.
    pub docs: Option<String>,
    /// The parameters (not the body), in a stable order: path, then query, header, form.
    pub params: Vec<Param>,
    /// The request body, if the operation sends one.
    pub body: Option<RequestBody>,
    /// The success responses, by status.
    pub responses: Vec<Response>,
    /// The error statuses the spec lists (`@errors`), with their descriptions.
    pub errors: Vec<ErrorResponse>,
    /// The auth scope template (`repository:{name}:pull`), if the operation needs one.
    pub scope: Option<String>,
    /// The endpoint's own auth (`@auth`), as written, when it overrides the API's: `basic`
    /// means the request carries the username and password up front.
    pub auth: Option<String>,
    /// Paging, for list operations.
    pub paging: Option<Paging>,
    /// Other names users know the operation by (the Azure SDKs' method names), emitted as
    /// `#[doc(alias)]`es so rustdoc search finds the operation under them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// Whether sending the request twice does no harm although its method is not idempotent
    /// (`@repeatable`: opening an upload session, whose unused twin the registry expires), so
    /// the runtime retries it like an idempotent one.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub repeatable: bool,
    /// Whether the success body is handed to the caller as a stream rather than read whole
    /// (`@stream`: blob bytes).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub streamed: bool,
    /// What the buffered response body holds (`@response_kind`), which sets the runtime's
    /// limit on its size; `None` lets the runtime infer it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_kind: Option<ResponseKind>,
    /// The part the operation plays in the registry's token service (`@token_role`), which
    /// tells the runtime where tokens are fetched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_role: Option<TokenRole>,
    /// Whether locations and types were inferred (no overlay described this operation).
    pub inferred: bool,
    /// The 1-based line of the `@endpoint` in the spec.
    pub line: u32,
    /// The spec that defines the operation, when several specs are merged into one client.
    pub source: Option<SpecSource>,
}

/// The spec an operation comes from (several specs can be merged into one client).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SpecSource {
    /// The spec's title (`@api`).
    pub title: String,
    /// The spec's version (`@version`), if stated.
    pub version: Option<String>,
    /// The spec's file name (`oci-distribution.lap`).
    pub file: String,
}

/// What a buffered response body holds, naming the runtime's size limit for it (the
/// runtime's `BodyKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ResponseKind {
    /// A manifest or index.
    Manifest,
    /// A token endpoint's answer.
    Token,
    /// A JSON document or listing.
    Document,
    /// Blob bytes read whole.
    Blob,
    /// The answer to a request that changes something.
    Ack,
}

impl ResponseKind {
    /// The kind an overlay's `@response_kind` names (`manifest`, `token`, `document`, `blob`,
    /// `ack`).
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "manifest" => Self::Manifest,
            "token" => Self::Token,
            "document" => Self::Document,
            "blob" => Self::Blob,
            "ack" => Self::Ack,
            _ => return None,
        })
    }
}

/// The part an operation plays in the registry's token service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum TokenRole {
    /// It answers access tokens (`POST`/`GET /oauth2/token` of ACR): the realm a client asks
    /// up front.
    AccessToken,
    /// It exchanges an Azure AD token for a refresh token (`POST /oauth2/exchange` of ACR).
    RefreshToken,
}

impl TokenRole {
    /// The role an overlay's `@token_role` names (`access_token`, `refresh_token`).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "access_token" => Some(Self::AccessToken),
            "refresh_token" => Some(Self::RefreshToken),
            _ => None,
        }
    }
}

/// A path template such as `/v2/{name}/manifests/{reference}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PathTemplate {
    /// The template as written.
    pub raw: String,
    /// The template split into literal text and parameters.
    pub segments: Vec<PathSegment>,
}

/// A piece of a [`PathTemplate`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum PathSegment {
    /// Literal text, sent as is.
    Literal(String),
    /// A parameter by wire name; its value is encoded into the path.
    Param(String),
}

/// Where a parameter travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum ParamLocation {
    /// In the URL path.
    Path,
    /// In the URL query.
    Query,
    /// In a request header.
    Header,
    /// As a field of an `application/x-www-form-urlencoded` body.
    Form,
}

/// One parameter of an operation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Param {
    /// The name on the wire (`orderby`, `Content-Range`, `grant_type`).
    pub name: String,
    /// Where it travels.
    pub location: ParamLocation,
    /// Its type.
    pub ty: TypeRef,
    /// Whether the caller must give it.
    pub required: bool,
    /// Whether the key may repeat (`scope` on `/oauth2/token`); `ty` is then the item type.
    pub repeated: bool,
    /// The wire text sent when the caller gives no value (an optional text parameter).
    pub default: Option<String>,
    /// The documentation, if any.
    pub docs: Option<String>,
}

/// A request body.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestBody {
    /// The wire name the spec gives it (`value`, `payload`), for the argument's name.
    pub name: String,
    /// The media type (`application/json`, `application/octet-stream`), or `None` when the
    /// caller gives it (manifests).
    pub content_type: Option<String>,
    /// The body's type: [`TypeRef::Bytes`] for raw bytes, else a JSON-serialized type.
    pub ty: TypeRef,
    /// Whether the caller must give it.
    pub required: bool,
    /// The documentation, if any.
    pub docs: Option<String>,
}

/// A status code as the spec writes it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Status {
    /// A concrete code (`200`).
    Code(u16),
    /// A class (`2XX`).
    Class(u8),
    /// Anything else (`OK`, `default`), as written.
    Other(String),
}

/// One success response.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Response {
    /// The status.
    pub status: Status,
    /// The documentation, if any.
    pub docs: Option<String>,
    /// The body: `None` when empty or unknown and ignored.
    pub body: Option<ResponseBody>,
    /// The typed headers.
    pub headers: Vec<Header>,
}

/// A response body.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResponseBody {
    /// The body's type: [`TypeRef::Bytes`] for raw bytes, [`TypeRef::Json`] when unknown,
    /// else a JSON-deserialized type.
    pub ty: TypeRef,
}

/// A typed response header.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Header {
    /// The header name on the wire (`Docker-Content-Digest`).
    pub name: String,
    /// Its type.
    pub ty: TypeRef,
    /// The documentation, if any.
    pub docs: Option<String>,
}

/// An error status the spec lists.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorResponse {
    /// The status.
    pub status: Status,
    /// The error type the spec names (`SearchException`), if any.
    pub type_name: Option<String>,
    /// The description, if any.
    pub docs: Option<String>,
}

/// How a list operation pages.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Paging {
    /// The field of the response body that holds the items (`tags`).
    pub items_field: String,
    /// The item type.
    pub item: TypeRef,
    /// The query parameter that sets the page size (`n`), if any.
    pub page_size_param: Option<String>,
}

/// A reference to a type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum TypeRef {
    /// Text.
    String,
    /// An integer; `bits` is 32 or 64.
    Integer {
        /// The width.
        bits: u8,
    },
    /// A floating-point number.
    Number,
    /// A boolean.
    Bool,
    /// An RFC 3339 timestamp.
    DateTime,
    /// Raw bytes (a blob, a manifest, an upload chunk).
    Bytes,
    /// Any JSON value (nothing is known of it).
    Json,
    /// A list.
    Array(Box<TypeRef>),
    /// A JSON object with string keys and values of one type.
    Map(Box<TypeRef>),
    /// A named type of this API ([`Api::types`]).
    Named(String),
    /// A type the runtime provides.
    Runtime(RuntimeType),
}

/// The types of the runtime (`acr_runtime`) that generated code may name: the typed contract
/// between the generator and the runtime. An overlay names them by their Rust names
/// ([`RuntimeType::from_name`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum RuntimeType {
    /// `RepositoryName`: a validated repository name (`library/hello`), whose `/` separate
    /// path segments.
    RepositoryName,
    /// `Reference`: a tag or a digest.
    Reference,
    /// `Digest`: `<algorithm>:<hex>`.
    Digest,
    /// `UploadLocation`: an upload session's `Location` (a whole path and query, or a URL),
    /// taken as it is.
    UploadLocation,
    /// `UploadRange`: an upload's `Range` header (`0-<last byte>`).
    UploadRange,
    /// `Link`: an RFC 8288 `Link` header.
    Link,
    /// `Secret`: a password or token, redacted from `Debug` and `Display`.
    Secret,
    /// `manifest::ImageIndex`: an OCI image index (the referrers API answers one), the
    /// runtime's one type for it (OCI image spec v1.1, `image-index.md`).
    ImageIndex,
    /// `manifest::Descriptor`: an OCI content descriptor (OCI image spec v1.1,
    /// `descriptor.md`), the items of an index's `manifests`.
    Descriptor,
}

impl RuntimeType {
    /// Every runtime type, in declaration order.
    pub const ALL: [RuntimeType; 9] = [
        RuntimeType::RepositoryName,
        RuntimeType::Reference,
        RuntimeType::Digest,
        RuntimeType::UploadLocation,
        RuntimeType::UploadRange,
        RuntimeType::Link,
        RuntimeType::Secret,
        RuntimeType::ImageIndex,
        RuntimeType::Descriptor,
    ];

    /// The type's name in the runtime crate (and in overlays).
    pub fn name(self) -> &'static str {
        match self {
            RuntimeType::RepositoryName => "RepositoryName",
            RuntimeType::Reference => "Reference",
            RuntimeType::Digest => "Digest",
            RuntimeType::UploadLocation => "UploadLocation",
            RuntimeType::UploadRange => "UploadRange",
            RuntimeType::Link => "Link",
            RuntimeType::Secret => "Secret",
            RuntimeType::ImageIndex => "ImageIndex",
            RuntimeType::Descriptor => "Descriptor",
        }
    }

    /// The item type of the runtime type's list field `field` (on the wire, camelCase), for
    /// `@paged link FIELD` on a response of this type: an index's `manifests` are
    /// descriptors.
    pub fn list_field(self, field: &str) -> Option<RuntimeType> {
        match (self, field) {
            (RuntimeType::ImageIndex, "manifests") => Some(RuntimeType::Descriptor),
            _ => None,
        }
    }

    /// The runtime module the type lives in (`manifest`), or `None` at the crate's root. A
    /// generated crate reaches such types through its re-export of that module.
    pub fn module(self) -> Option<&'static str> {
        match self {
            RuntimeType::ImageIndex | RuntimeType::Descriptor => Some("manifest"),
            _ => None,
        }
    }

    /// The runtime type an overlay calls `name`, if any.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }

    /// Whether the type has `as_str()` giving its wire text (the validated names).
    pub fn has_as_str(self) -> bool {
        matches!(
            self,
            RuntimeType::RepositoryName
                | RuntimeType::Reference
                | RuntimeType::Digest
                | RuntimeType::UploadLocation
        )
    }
}

/// A named type: a model or an enum.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NamedType {
    /// The type's name (PascalCase).
    pub name: String,
    /// The documentation, if any.
    pub docs: Option<String>,
    /// What it is.
    pub kind: TypeKind,
}

/// The shape of a [`NamedType`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum TypeKind {
    /// A JSON object with known fields (unknown fields are tolerated).
    Struct {
        /// The fields.
        fields: Vec<Field>,
    },
    /// A string enum.
    Enum {
        /// The known values, as on the wire.
        values: Vec<String>,
        /// Whether unknown values are kept (true) rather than refused.
        open: bool,
    },
}

/// A field of a struct.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Field {
    /// The JSON name on the wire (`imageName`).
    pub name: String,
    /// Its type.
    pub ty: TypeRef,
    /// Whether the field is always present.
    pub required: bool,
    /// The documentation, if any.
    pub docs: Option<String>,
}
