//! Token streams to formatted files.

use proc_macro2::TokenStream;

use crate::{CodegenError, GeneratedFile, HEADER};

/// Formats `tokens` (a whole file) with prettyplease under [`HEADER`].
pub fn format(path: &str, tokens: TokenStream) -> Result<GeneratedFile, CodegenError> {
    let text = pretty(path, tokens)?;
    Ok(GeneratedFile {
        path: path.to_owned(),
        contents: format!("{HEADER}\n{text}"),
    })
}

/// Formats `tokens` (one or more items) with prettyplease; `what` names them in errors.
pub fn pretty(what: &str, tokens: TokenStream) -> Result<String, CodegenError> {
    let file = syn::parse2::<syn::File>(tokens).map_err(|e| CodegenError::InvalidTokens {
        path: what.to_owned(),
        message: e.to_string(),
    })?;
    Ok(prettyplease::unparse(&file))
}
