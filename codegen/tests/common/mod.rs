//! IR fixtures shared by the emitter tests, and helpers to build them.
#![allow(dead_code, clippy::expect_used)]

use acr_codegen::ir::*;

pub fn s() -> TypeRef {
    TypeRef::String
}
pub fn rt(name: &str) -> TypeRef {
    TypeRef::Runtime(acr_codegen::ir::RuntimeType::from_name(name).expect("a runtime type"))
}
pub fn named(name: &str) -> TypeRef {
    TypeRef::Named(name.to_owned())
}
pub fn arr(t: TypeRef) -> TypeRef {
    TypeRef::Array(Box::new(t))
}
pub fn int(bits: u8) -> TypeRef {
    TypeRef::Integer { bits }
}

pub fn param(name: &str, location: ParamLocation, ty: TypeRef, required: bool) -> Param {
    Param {
        name: name.to_owned(),
        location,
        ty,
        required,
        repeated: false,
        default: None,
        docs: None,
    }
}
pub fn path(name: &str, ty: TypeRef) -> Param {
    param(name, ParamLocation::Path, ty, true)
}
pub fn query(name: &str, ty: TypeRef, required: bool) -> Param {
    param(name, ParamLocation::Query, ty, required)
}
pub fn header(name: &str, ty: TypeRef, required: bool) -> Param {
    param(name, ParamLocation::Header, ty, required)
}
pub fn form(name: &str, ty: TypeRef, required: bool) -> Param {
    param(name, ParamLocation::Form, ty, required)
}
pub fn repeated(mut p: Param) -> Param {
    p.repeated = true;
    p
}
pub fn documented(mut p: Param, docs: &str) -> Param {
    p.docs = Some(docs.to_owned());
    p
}

pub fn template(raw: &str) -> PathTemplate {
    let mut segments = Vec::new();
    let mut rest = raw;
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}').expect("closed") + open;
        if open > 0 {
            segments.push(PathSegment::Literal(rest[..open].to_owned()));
        }
        segments.push(PathSegment::Param(rest[open + 1..close].to_owned()));
        rest = &rest[close + 1..];
    }
    if !rest.is_empty() {
        segments.push(PathSegment::Literal(rest.to_owned()));
    }
    PathTemplate {
        raw: raw.to_owned(),
        segments,
    }
}

pub fn hdr(name: &str, ty: TypeRef) -> Header {
    Header {
        name: name.to_owned(),
        ty,
        docs: None,
    }
}

pub fn resp(code: u16, body: Option<TypeRef>, headers: Vec<Header>) -> Response {
    resp_status(Status::Code(code), body, headers)
}
pub fn resp_status(status: Status, body: Option<TypeRef>, headers: Vec<Header>) -> Response {
    Response {
        status,
        docs: None,
        body: body.map(|ty| ResponseBody { ty }),
        headers,
    }
}

pub fn op(name: &str, method: &str, raw_path: &str) -> Operation {
    Operation {
        name: name.to_owned(),
        method: method.to_owned(),
        path: template(raw_path),
        docs: None,
        params: Vec::new(),
        body: None,
        responses: Vec::new(),
        errors: Vec::new(),
        scope: None,
        auth: None,
        paging: None,
        aliases: Vec::new(),
        repeatable: false,
        streamed: false,
        response_kind: None,
        token_role: None,
        inferred: false,
        line: 1,
        source: None,
    }
}

pub fn body(name: &str, content_type: Option<&str>, ty: TypeRef, required: bool) -> RequestBody {
    RequestBody {
        name: name.to_owned(),
        content_type: content_type.map(str::to_owned),
        ty,
        required,
        docs: None,
    }
}

pub fn field(name: &str, ty: TypeRef, required: bool) -> Field {
    Field {
        name: name.to_owned(),
        ty,
        required,
        docs: None,
    }
}
pub fn strukt(name: &str, docs: Option<&str>, fields: Vec<Field>) -> NamedType {
    NamedType {
        name: name.to_owned(),
        docs: docs.map(str::to_owned),
        kind: TypeKind::Struct { fields },
    }
}
pub fn enumeration(name: &str, values: &[&str], open: bool) -> NamedType {
    NamedType {
        name: name.to_owned(),
        docs: None,
        kind: TypeKind::Enum {
            values: values.iter().map(|v| (*v).to_owned()).collect(),
            open,
        },
    }
}

pub fn api(title: &str, operations: Vec<Operation>, mut types: Vec<NamedType>) -> Api {
    types.sort_by(|a, b| a.name.cmp(&b.name));
    Api {
        title: title.to_owned(),
        version: Some("2019-08-15-preview".to_owned()),
        base_url: None,
        auth: None,
        operations,
        types,
    }
}

fn changeable(name: &str) -> NamedType {
    strukt(
        name,
        Some("Changeable attributes: only the fields that are set are sent."),
        vec![
            field("deleteEnabled", TypeRef::Bool, false),
            field("writeEnabled", TypeRef::Bool, false),
            field("listEnabled", TypeRef::Bool, false),
            field("readEnabled", TypeRef::Bool, false),
        ],
    )
}

/// A few operations resembling ACR: a paged list, a bytes body with a caller-given media
/// type, a fixed bytes body, a form body with a repeated field, a header param, typed
/// response headers, an open enum, a closed enum, a struct with timestamps.
pub fn acr_like() -> Api {
    let mut get_tags = op("get_tags", "GET", "/acr/v1/{name}/_tags");
    get_tags.docs = Some("List tags of a repository".to_owned());
    get_tags.params = vec![
        path("name", rt("RepositoryName")),
        documented(
            query("last", s(), false),
            "Query parameter for the last item in previous query. Result set will include values lexically after last.",
        ),
        documented(
            query("n", int(32), false),
            "query parameter for max number of items",
        ),
        query("orderby", named("TagOrderBy"), false),
        documented(query("digest", rt("Digest"), false), "filter by digest"),
    ];
    get_tags.responses = vec![resp(
        200,
        Some(named("TagList")),
        vec![hdr("Link", rt("Link"))],
    )];
    get_tags.scope = Some("repository:{name}:metadata_read".to_owned());
    get_tags.paging = Some(Paging {
        items_field: "tags".to_owned(),
        item: named("TagAttributesBase"),
        page_size_param: Some("n".to_owned()),
    });

    let mut get_manifest = op("get_manifest", "GET", "/v2/{name}/manifests/{reference}");
    get_manifest.docs = Some("Get the manifest identified by `name` and `reference` where `reference` can be a tag or digest.".to_owned());
    get_manifest.params = vec![
        path("name", rt("RepositoryName")),
        path("reference", rt("Reference")),
        documented(
            header("accept", s(), false),
            "Accept header string delimited by comma. For example, application/vnd.docker.distribution.manifest.v2+json",
        ),
    ];
    get_manifest.responses = vec![resp(
        200,
        Some(TypeRef::Bytes),
        vec![
            hdr("Docker-Content-Digest", rt("Digest")),
            hdr("Content-Type", s()),
            hdr("Content-Length", int(64)),
        ],
    )];
    get_manifest.scope = Some("repository:{name}:pull".to_owned());

    let mut create_manifest = op("create_manifest", "PUT", "/v2/{name}/manifests/{reference}");
    create_manifest.docs = Some("Put the manifest identified by `name` and `reference` where `reference` can be a tag or digest.".to_owned());
    create_manifest.params = vec![
        path("name", rt("RepositoryName")),
        path("reference", rt("Reference")),
    ];
    create_manifest.body = Some(body("payload", None, TypeRef::Bytes, true));
    create_manifest.responses = vec![resp(
        201,
        None,
        vec![
            hdr("Docker-Content-Digest", rt("Digest")),
            hdr("Location", s()),
            hdr("Content-Length", int(64)),
        ],
    )];
    create_manifest.scope = Some("repository:{name}:pull,push".to_owned());

    let mut get_blob = op("get_blob", "GET", "/v2/{name}/blobs/{digest}");
    get_blob.params = vec![
        path("name", rt("RepositoryName")),
        path("digest", rt("Digest")),
    ];
    get_blob.responses = vec![
        resp(
            200,
            Some(TypeRef::Bytes),
            vec![
                hdr("Content-Length", int(64)),
                hdr("Docker-Content-Digest", rt("Digest")),
            ],
        ),
        resp(307, None, vec![hdr("Location", s())]),
    ];
    get_blob.scope = Some("repository:{name}:pull".to_owned());

    // opens the upload session: where a location names its repository comes from its path
    let mut start_upload = op("start_upload", "POST", "/v2/{name}/blobs/uploads/");
    start_upload.params = vec![path("name", rt("RepositoryName"))];
    start_upload.scope = Some("repository:{name}:pull,push".to_owned());
    start_upload.repeatable = true;
    start_upload.responses = vec![resp(
        202,
        None,
        vec![
            hdr("Location", rt("UploadLocation")),
            hdr("Range", rt("UploadRange")),
        ],
    )];

    let mut upload_chunk = op("upload_chunk", "PATCH", "/{nextBlobUuidLink}");
    upload_chunk.docs = Some("Upload a stream of data without completing the upload.".to_owned());
    upload_chunk.params = vec![
        path("nextBlobUuidLink", rt("UploadLocation")),
        header("Content-Range", s(), false),
    ];
    upload_chunk.body = Some(body(
        "value",
        Some("application/octet-stream"),
        TypeRef::Bytes,
        true,
    ));
    upload_chunk.scope = Some("repository:{name}:pull,push".to_owned());
    upload_chunk.responses = vec![resp(
        202,
        None,
        vec![
            hdr("Location", rt("UploadLocation")),
            hdr("Range", rt("UploadRange")),
            hdr("Docker-Upload-UUID", s()),
        ],
    )];

    let mut complete_upload = op("complete_upload", "PUT", "/{nextBlobUuidLink}");
    complete_upload.params = vec![
        path("nextBlobUuidLink", rt("UploadLocation")),
        query("digest", rt("Digest"), true),
    ];
    complete_upload.scope = Some("repository:{nextBlobUuidLink}:pull,push".to_owned());
    complete_upload.body = Some(body(
        "value",
        Some("application/octet-stream"),
        TypeRef::Bytes,
        false,
    ));
    complete_upload.responses = vec![resp(
        201,
        None,
        vec![
            hdr("Docker-Content-Digest", rt("Digest")),
            hdr("Location", s()),
            hdr("Range", rt("UploadRange")),
        ],
    )];

    let mut token = op(
        "exchange_acr_refresh_token_for_acr_access_token",
        "POST",
        "/oauth2/token",
    );
    token.docs = Some("Exchange ACR Refresh token for an ACR Access Token".to_owned());
    token.params = vec![
        documented(
            form("service", s(), true),
            "Indicates the name of your Azure container registry.",
        ),
        documented(
            repeated(form("scope", s(), true)),
            "Which is expected to be a valid scope, and can be specified more than once for multiple scope requests.",
        ),
        form("refresh_token", rt("Secret"), true),
        form("grant_type", named("TokenGrantType"), true),
    ];
    token.responses = vec![resp(200, Some(named("AccessToken")), vec![])];
    token.token_role = Some(acr_codegen::ir::TokenRole::AccessToken);

    let mut update = op(
        "update_manifest_properties",
        "PATCH",
        "/acr/v1/{name}/_manifests/{digest}",
    );
    update.params = vec![
        path("name", rt("RepositoryName")),
        path("digest", rt("Digest")),
    ];
    update.body = Some(body(
        "value",
        Some("application/json"),
        named("ManifestChangeableAttributes"),
        false,
    ));
    update.responses = vec![resp(200, Some(named("ManifestAttributes")), vec![])];
    update.scope = Some("repository:{name}:metadata_write".to_owned());

    let mut delete_repository = op("delete_repository", "DELETE", "/acr/v1/{name}");
    delete_repository.params = vec![path("name", rt("RepositoryName"))];
    delete_repository.responses = vec![resp(202, Some(named("DeletedRepository")), vec![])];
    delete_repository.scope = Some("repository:{name}:delete".to_owned());

    let mut v2 = op("check_docker_v2_support", "GET", "/v2/");
    v2.docs = Some(
        "Tells whether this Docker Registry instance supports Docker Registry HTTP API v2"
            .to_owned(),
    );
    v2.responses = vec![resp(200, None, vec![])];

    let types = vec![
        strukt(
            "TagList",
            Some("List of tag details"),
            vec![
                field("registry", s(), false),
                field("imageName", s(), true),
                field("tags", arr(named("TagAttributesBase")), true),
                field("link", s(), false),
            ],
        ),
        strukt(
            "TagAttributesBase",
            Some("Tag attribute details"),
            vec![
                field("name", s(), true),
                field("digest", rt("Digest"), true),
                field("createdTime", TypeRef::DateTime, true),
                field("lastUpdateTime", TypeRef::DateTime, true),
                field("signed", TypeRef::Bool, false),
                field(
                    "changeableAttributes",
                    named("TagChangeableAttributes"),
                    true,
                ),
            ],
        ),
        changeable("TagChangeableAttributes"),
        changeable("ManifestChangeableAttributes"),
        enumeration("TagOrderBy", &["none", "timedesc", "timeasc"], false),
        enumeration("TokenGrantType", &["refresh_token", "password"], false),
        enumeration(
            "ArtifactArchitecture",
            &[
                "386", "amd64", "arm", "arm64", "mips", "mipsle", "mips64", "mips64le", "ppc64",
                "ppc64le", "riscv64", "s390x", "wasm",
            ],
            true,
        ),
        enumeration(
            "ArtifactOperatingSystem",
            &["aix", "android", "darwin", "linux", "windows"],
            true,
        ),
        strukt(
            "ManifestAttributes",
            None,
            vec![
                field("registry", s(), false),
                field("imageName", s(), true),
                field("manifest", named("ManifestAttributesBase"), true),
            ],
        ),
        strukt(
            "ManifestAttributesBase",
            Some("Manifest details"),
            vec![
                field("digest", rt("Digest"), true),
                field("imageSize", int(64), false),
                field("createdTime", TypeRef::DateTime, false),
                field("architecture", named("ArtifactArchitecture"), false),
                field("os", named("ArtifactOperatingSystem"), false),
                field("tags", arr(s()), false),
                field(
                    "changeableAttributes",
                    named("ManifestChangeableAttributes"),
                    false,
                ),
            ],
        ),
        strukt(
            "AccessToken",
            None,
            vec![field("access_token", rt("Secret"), false)],
        ),
        strukt(
            "DeletedRepository",
            Some("Deleted repository"),
            vec![
                field("manifestsDeleted", arr(s()), false),
                field("tagsDeleted", arr(s()), false),
            ],
        ),
        strukt(
            "AcrErrorInfo",
            Some("Error information"),
            vec![
                field("code", s(), false),
                field("message", s(), false),
                field("detail", TypeRef::Json, false),
            ],
        ),
    ];
    api(
        "Azure Container Registry",
        vec![
            v2,
            get_manifest,
            create_manifest,
            get_blob,
            start_upload,
            upload_chunk,
            complete_upload,
            get_tags,
            update,
            delete_repository,
            token,
        ],
        types,
    )
}

/// An API that tries every naming and shape hazard the emitters must survive.
pub fn nasty() -> Api {
    let wild_docs = "Filters [things] by <b>bold</b> `code and https://example.com/a_(b)).\n    indented line\n```\nfenced\n```\n# heading\n- list item\nlazy continuation\n\ttabbed | pipe * star _under_";
    let mut search = op("search", "GET", "/search/{id}/{type}/{opt}");
    search.docs = Some(wild_docs.to_owned());
    search.inferred = true;
    search.params = vec![
        path("id", s()),
        path("type", int(64)),
        param("opt", ParamLocation::Path, s(), false),
        path("notInTemplate", s()),
        query("filter[timestamp][start]", TypeRef::DateTime, false),
        query("filter[timestamp][end]", TypeRef::DateTime, true),
        query("$reset", TypeRef::Bool, false),
        query(":operation", s(), false),
        query("q.options", TypeRef::Json, false),
        query("q options", TypeRef::Json, true),
        query("名前", s(), false),
        query("2fa", TypeRef::Number, false),
        query("", s(), false),
        query("client", s(), false),
        query("request", s(), false),
        query("path", s(), false),
        query("send", s(), false),
        query("into_future", s(), false),
        query("self", s(), false),
        query("Self", s(), true),
        query("crate", s(), false),
        query("item", arr(named("Option")), false),
        query("filter", named("Self"), false),
        query("tags", arr(s()), true),
        query("numbers", arr(int(32)), false),
        query("blob", TypeRef::Bytes, false),
        query("map", TypeRef::Map(Box::new(int(64))), false),
        repeated(query("digests", rt("Digest"), false)),
        repeated(query("names", s(), true)),
        repeated(header("X-Many", s(), false)),
        header("X-Json", TypeRef::Json, true),
        header("X-Count", int(32), false),
        header("Content-Type", s(), false),
        query("kind", named("HugeEnum"), false),
        query("same", named("Same"), false),
    ];
    search.scope = Some("thing:{id}:{opt}:{missing}".to_owned());
    search.responses = vec![
        resp_status(
            Status::Class(2),
            Some(named("Node")),
            vec![
                hdr("X-Total", int(64)),
                hdr("x-total", s()),
                hdr("status", s()),
                hdr("headers", s()),
                hdr("Weird Header!", named("Node")),
            ],
        ),
        resp(
            206,
            Some(TypeRef::Json),
            vec![hdr("X-Kind", named("HugeEnum"))],
        ),
        resp_status(
            Status::Other("default".to_owned()),
            Some(TypeRef::String),
            vec![],
        ),
    ];
    search.paging = Some(Paging {
        items_field: "children".to_owned(),
        item: named("Node"),
        page_size_param: None,
    });

    let mut dup1 = op("getThing", "GET", "/thing");
    dup1.responses = vec![
        resp(200, Some(TypeRef::Json), vec![]),
        resp(204, None, vec![]),
    ];
    let mut dup2 = op("get_thing", "GET", "/thing/{a}{b}");
    dup2.params = vec![path("a", s()), path("b", s())];
    dup2.paging = Some(Paging {
        items_field: "value".to_owned(),
        item: s(),
        page_size_param: None,
    });
    let mut builder = op("builder", "PURGE", "/cache/{*rest}");
    builder.params = vec![path("*rest", s())];
    builder.responses = vec![
        resp(204, None, vec![]),
        resp(200, Some(named("Node")), vec![]),
    ];
    let operations_op = op("operations", "OPTIONS", "");
    let mut mod_op = op("mod", "POST", "/form");
    mod_op.params = vec![
        form("a", s(), false),
        repeated(form("b", int(64), false)),
        form("c", rt("Digest"), false),
        repeated(form("d", rt("Reference"), true)),
    ];
    mod_op.body = Some(body("body", Some("text/plain"), s(), false));
    let mut type_op = op("type", "PUT", "/t/{location}");
    type_op.params = vec![
        path("location", rt("UploadLocation")),
        path("client", s()),
        path("content_type", s()),
    ];
    type_op.body = Some(body("payload", None, TypeRef::Bytes, false));
    let mut many = op("many_args", "POST", "/many/{a}/{b}/{c}/{d}/{e}/{f}/{g}");
    many.params = ["a", "b", "c", "d", "e", "f", "g"]
        .iter()
        .map(|n| path(n, s()))
        .collect();
    many.body = Some(body("value", Some("application/json"), named("Node"), true));
    many.responses = vec![
        resp(201, Some(named("Node")), vec![]),
        resp(202, Some(named("Option")), vec![]),
    ];
    let mut empty_name = op("", "GET", "/{x}");
    empty_name.params = vec![path("x", rt("RepositoryName"))];
    empty_name.scope = Some("repository:{x}:pull".to_owned());

    let huge: Vec<String> = (0..300).map(|i| format!("value-{i}")).collect();
    let huge: Vec<&str> = huge.iter().map(String::as_str).collect();
    let mut node = strukt(
        "Node",
        Some(wild_docs),
        vec![
            field("parent", named("Node"), false),
            field("children", arr(named("Node")), true),
            field("partner", named("Partner"), false),
            field("type", s(), true),
            field("self", s(), false),
            field("Type", s(), false),
            field("type", s(), false),
            field("", TypeRef::Number, false),
            field("os.version", s(), false),
            field("blob", TypeRef::Bytes, false),
            field("meta", TypeRef::Map(Box::new(TypeRef::Json)), true),
            field("kind", named("HugeEnum"), false),
            field("missing", named("NoSuchType"), false),
            field("at", TypeRef::DateTime, false),
        ],
    );
    if let TypeKind::Struct { fields } = &mut node.kind {
        fields[0].docs = Some("See [the parent](https://example.com) <here>.".to_owned());
    }
    let types = vec![
        node,
        strukt("Partner", None, vec![field("back", named("Node"), true)]),
        strukt("Option", None, vec![field("value", s(), false)]),
        strukt("Client", None, vec![]),
        strukt("Error", None, vec![field("Result", named("Result"), false)]),
        enumeration(
            "Result",
            &[
                "Ok",
                "Err",
                "ok",
                "OK",
                "",
                "-",
                "+",
                "Other",
                "other",
                "self",
                "Self",
                "386",
                "ünïcode",
            ],
            true,
        ),
        strukt("Self", None, vec![field("v", s(), true)]),
        enumeration("HugeEnum", &huge, true),
        enumeration("Same", &["a-b", "a_b", "A B", "a.b"], false),
        enumeration("Nothing", &[], false),
        enumeration("OnlyUnknown", &[], true),
        enumeration("sort_dir", &["sort_asc", "sort_desc", "sort_none"], false),
        strukt("Option", None, vec![field("duplicate", s(), false)]),
    ];
    api(
        "Nasty <API> [v1]",
        vec![
            search,
            dup1,
            dup2,
            builder,
            operations_op,
            mod_op,
            type_op,
            many,
            empty_name,
        ],
        types,
    )
}

/// No operations, no types.
pub fn minimal() -> Api {
    api("", Vec::new(), Vec::new())
}

/// An API of `n` operations, more than the generator writes one to a file: a GET with a path
/// parameter and a typed response, a POST with a body, by turns.
pub fn many(n: usize) -> Api {
    let operations = (0..n)
        .map(|i| {
            if i % 2 == 0 {
                let mut o = op(
                    &format!("get_thing_{i}"),
                    "GET",
                    &format!("/things{i}/{{id}}"),
                );
                o.params = vec![path("id", s())];
                o.responses = vec![resp(200, Some(named("Thing")), Vec::new())];
                o
            } else {
                let mut o = op(&format!("create_thing_{i}"), "POST", &format!("/things{i}"));
                o.body = Some(body("thing", None, named("Thing"), true));
                o.responses = vec![resp(201, None, Vec::new())];
                o
            }
        })
        .collect();
    let thing = strukt(
        "Thing",
        Some("A thing."),
        vec![field("id", s(), true), field("size", int(64), false)],
    );
    api("Many", operations, vec![thing])
}
