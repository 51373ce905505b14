//! Everything the emitters share: the API, its named types, its resolved operations and the
//! paths of the crates the emitted code calls.

use proc_macro2::TokenStream;

use crate::ir::{Api, ParamLocation, PathSegment, RuntimeType, TypeRef};
use crate::names::{Namer, Style, shorten_snake, snake};

/// The longest operation module name: it names a file, and file names have limits.
const MAX_MODULE_NAME: usize = 64;
use crate::plan::{CLIENT_RESERVED, OpPlan};
use crate::types::TypeTable;
use crate::{CodegenError, Options};

/// The shared state of one generation run.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    /// The API.
    pub api: &'a Api,
    /// Its named types.
    pub types: TypeTable<'a>,
    /// Its operations, resolved, in IR order.
    pub ops: Vec<OpPlan<'a>>,
    /// The runtime crate's path (`acr_runtime`).
    pub rt: TokenStream,
    /// The `http` crate's path (`http`).
    pub http: TokenStream,
    /// Hand-written modules `lib.rs` declares (see [`Options::extra_modules`]).
    pub extra_modules: Vec<String>,
    /// [`Options::auth_constructors`].
    pub auth_constructors: bool,
    /// Where an upload location names its repository, from the spec: the literal text around
    /// the repository parameter in the path of the operation that answers with an upload
    /// `Location` (`/v2/` and `/blobs/uploads` of `POST /v2/{name}/blobs/uploads/`).
    pub location_shape: Option<(String, String)>,
    /// [`Options::crate_doc`].
    pub crate_doc: Option<String>,
    /// [`Options::client_doc`].
    pub client_doc: Option<String>,
}

impl<'a> Context<'a> {
    /// Resolves `api` with `opts`.
    pub fn new(api: &'a Api, opts: &Options) -> Result<Self, CodegenError> {
        let rt = parse_path("runtime_crate", &opts.runtime_crate)?;
        let http = parse_path("http_crate", &opts.http_crate)?;
        let types = TypeTable::new(api, rt.clone());
        let mut namer = Namer::new(Style::Snake, CLIENT_RESERVED);
        let ops = api
            .operations
            .iter()
            .map(|op| {
                let base = shorten_snake(&snake(&op.name, "operation"), MAX_MODULE_NAME);
                OpPlan::new(op, namer.claim(&base))
            })
            .collect();
        Ok(Self {
            api,
            types,
            ops,
            rt,
            http,
            extra_modules: opts.extra_modules.clone(),
            auth_constructors: opts.auth_constructors,
            location_shape: location_shape(api),
            crate_doc: opts.crate_doc.clone(),
            client_doc: opts.client_doc.clone(),
        })
    }

    /// The resolved operation whose IR name is `name`.
    pub fn op(&self, name: &str) -> Option<&OpPlan<'a>> {
        self.ops.iter().find(|p| p.op.name == name)
    }
}

/// Parses an option that holds a Rust path.
fn parse_path(option: &'static str, value: &str) -> Result<TokenStream, CodegenError> {
    syn::parse_str::<syn::Path>(value)
        .map(|p| quote::quote!(#p))
        .map_err(|e| CodegenError::InvalidOption {
            option,
            message: format!("{value:?} is not a Rust path: {e}"),
        })
}

/// The text before and after the repository in an upload location, read from the first
/// operation whose path is `<literal>{repository}<literal>` (a `RepositoryName` path
/// parameter) and whose response has a `Location` of type `UploadLocation`: the session a
/// `POST` opens lives under that path. The trailing `/` of the suffix is dropped, so both
/// `…/uploads/<id>` and `…/uploads?…` match.
fn location_shape(api: &Api) -> Option<(String, String)> {
    api.operations.iter().find_map(|op| {
        let answers_location = op.responses.iter().any(|r| {
            r.headers.iter().any(|h| {
                h.name.eq_ignore_ascii_case("location")
                    && h.ty == TypeRef::Runtime(RuntimeType::UploadLocation)
            })
        });
        let [
            PathSegment::Literal(prefix),
            PathSegment::Param(name),
            PathSegment::Literal(suffix),
        ] = op.path.segments.as_slice()
        else {
            return None;
        };
        let is_repository = op.params.iter().any(|p| {
            &p.name == name
                && p.location == ParamLocation::Path
                && p.ty == TypeRef::Runtime(RuntimeType::RepositoryName)
        });
        (answers_location && is_repository && prefix.starts_with('/'))
            .then(|| (prefix.clone(), suffix.trim_end_matches('/').to_owned()))
    })
}
