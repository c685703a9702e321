//! The message loop: documents, dispatch, and a `catch_unwind` around every handler so a
//! bug in one request answers an error instead of taking the editor's server down.

use super::LineIndex;
use super::{convert, features};
use crate::check::refs::RefIndex;
use crate::session::Session;
use crate::syntax::span::FileId;
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types::notification::{
    DidChangeTextDocument, DidCloseTextDocument, DidOpenTextDocument, Notification as _,
    PublishDiagnostics,
};
use lsp_types::request::{
    CodeActionRequest, Completion, DocumentSymbolRequest, Formatting, GotoDefinition, HoverRequest,
    PrepareRenameRequest, References, Rename, Request as _, SemanticTokensFullRequest,
};
use lsp_types::{
    CodeActionProviderCapability, CompletionOptions, DidChangeTextDocumentParams,
    DidCloseTextDocumentParams, DidOpenTextDocumentParams, HoverProviderCapability, OneOf,
    PublishDiagnosticsParams, RenameOptions, SemanticTokensFullOptions, SemanticTokensOptions,
    SemanticTokensServerCapabilities, ServerCapabilities, ServerInfo, TextDocumentSyncCapability,
    TextDocumentSyncKind, Uri, WorkDoneProgressOptions,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// One open document: its file in the session, its line index and its name index.
pub(super) struct Doc {
    pub id: FileId,
    pub version: i32,
    pub index: LineIndex,
    pub refs: RefIndex,
}

/// Everything a request handler may read about one document.
pub(super) struct View<'a> {
    pub uri: &'a Uri,
    pub doc: &'a Doc,
    pub analysis: &'a crate::session::Analysis,
}

impl View<'_> {
    pub fn text(&self) -> &str {
        self.doc.index.text()
    }
}

/// The server state: a session holding the open documents.
pub(super) struct State {
    session: Session,
    /// Open documents by URI text (`Uri` itself makes a poor map key).
    docs: HashMap<String, Doc>,
    /// The client inserts snippets (`${1:name}` placeholders); without it, completion
    /// items are plain text.
    pub(super) snippets: bool,
}

impl Default for State {
    fn default() -> State {
        // Knowledge files beside a `file://` document are read, as `wafl check` does.
        State {
            session: Session::with_files(),
            docs: HashMap::new(),
            snippets: false,
        }
    }
}

impl State {
    fn view<'a>(&'a self, uri: &'a Uri) -> Option<View<'a>> {
        let doc = self.docs.get(uri.as_str())?;
        let analysis = self.session.analysis(doc.id)?;
        Some(View { uri, doc, analysis })
    }

    /// Stores a document's new text and analyses it again.
    fn set_text(&mut self, uri: &Uri, version: i32, text: String) {
        let id = match self.docs.get(uri.as_str()) {
            Some(doc) => {
                self.session.update(doc.id, text.clone());
                doc.id
            }
            None => self.session.add(uri.as_str(), text.clone()),
        };
        let refs = self
            .session
            .analysis(id)
            .map(|a| RefIndex::build(&a.parsed.file))
            .unwrap_or_default();
        self.docs.insert(
            uri.as_str().to_owned(),
            Doc {
                id,
                version,
                index: LineIndex::new(&text),
                refs,
            },
        );
    }
}

/// The capabilities announced to the client.
fn capabilities() -> ServerCapabilities {
    ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Kind(
            TextDocumentSyncKind::INCREMENTAL,
        )),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        definition_provider: Some(OneOf::Left(true)),
        references_provider: Some(OneOf::Left(true)),
        rename_provider: Some(OneOf::Right(RenameOptions {
            prepare_provider: Some(true),
            work_done_progress_options: WorkDoneProgressOptions::default(),
        })),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec![".".into(), " ".into()]),
            ..CompletionOptions::default()
        }),
        document_symbol_provider: Some(OneOf::Left(true)),
        document_formatting_provider: Some(OneOf::Left(true)),
        code_action_provider: Some(CodeActionProviderCapability::Simple(true)),
        semantic_tokens_provider: Some(SemanticTokensServerCapabilities::SemanticTokensOptions(
            SemanticTokensOptions {
                legend: super::tokens::legend(),
                full: Some(SemanticTokensFullOptions::Bool(true)),
                range: None,
                work_done_progress_options: WorkDoneProgressOptions::default(),
            },
        )),
        ..ServerCapabilities::default()
    }
}

/// Serves the protocol on stdin and stdout until the client says `exit`.
pub fn run_stdio() -> Result<(), String> {
    let (connection, io_threads) = Connection::stdio();
    run(connection)?;
    io_threads.join().map_err(|e| e.to_string())
}

/// Serves the protocol on any connection (stdio in the binary, memory in tests).
pub fn run(connection: Connection) -> Result<(), String> {
    let init = serde_json::json!({
        "capabilities": capabilities(),
        "serverInfo": ServerInfo {
            name: "wafl".into(),
            version: Some(env!("CARGO_PKG_VERSION").into()),
        },
    });
    let (id, params) = connection.initialize_start().map_err(|e| e.to_string())?;
    connection
        .initialize_finish(id, init)
        .map_err(|e| e.to_string())?;
    let mut state = State {
        snippets: params
            .pointer("/capabilities/textDocument/completion/completionItem/snippetSupport")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false),
        ..State::default()
    };
    for msg in &connection.receiver {
        match msg {
            Message::Request(req) => {
                if connection
                    .handle_shutdown(&req)
                    .map_err(|e| e.to_string())?
                {
                    return Ok(());
                }
                let resp = handle_request(&state, req);
                connection
                    .sender
                    .send(Message::Response(resp))
                    .map_err(|e| e.to_string())?;
            }
            Message::Notification(n) => {
                if n.method == "exit" {
                    return Ok(());
                }
                let outcome = catch_unwind(AssertUnwindSafe(|| handle_notification(&mut state, n)));
                match outcome {
                    Ok(out) => {
                        for n in out {
                            connection
                                .sender
                                .send(Message::Notification(n))
                                .map_err(|e| e.to_string())?;
                        }
                    }
                    Err(_) => log(&connection, "wafl: a notification handler failed"),
                }
            }
            Message::Response(_) => {}
        }
    }
    Ok(())
}

fn log(connection: &Connection, text: &str) {
    let n = Notification::new(
        "window/logMessage".into(),
        serde_json::json!({ "type": 1, "message": text }),
    );
    let _ = connection.sender.send(Message::Notification(n));
}

/// Answers one request; a panic inside a handler becomes an error response.
fn handle_request(state: &State, req: Request) -> Response {
    let id = req.id.clone();
    match catch_unwind(AssertUnwindSafe(|| dispatch(state, req))) {
        Ok(resp) => resp,
        Err(_) => Response::new_err(
            id,
            ErrorCode::InternalError as i32,
            "internal error while answering the request".into(),
        ),
    }
}

fn dispatch(state: &State, req: Request) -> Response {
    let id = req.id.clone();
    match req.method.as_str() {
        HoverRequest::METHOD => answer(state, id, req.params, features::hover),
        GotoDefinition::METHOD => answer(state, id, req.params, features::definition),
        References::METHOD => answer(state, id, req.params, features::references),
        PrepareRenameRequest::METHOD => answer(state, id, req.params, features::prepare_rename),
        Rename::METHOD => answer(state, id, req.params, features::rename),
        Completion::METHOD => answer(state, id, req.params, features::completion),
        DocumentSymbolRequest::METHOD => answer(state, id, req.params, features::symbols),
        SemanticTokensFullRequest::METHOD => answer(state, id, req.params, features::tokens),
        Formatting::METHOD => answer(state, id, req.params, features::formatting),
        CodeActionRequest::METHOD => answer(state, id, req.params, features::code_actions),
        // Test hook: proves that a panicking handler answers an error and the server lives on.
        "wafl/panic" => answer(
            state,
            id,
            req.params,
            |_: &State, _: serde_json::Value| -> Result<(), String> { panic!("requested panic") },
        ),
        _ => Response::new_err(
            id,
            ErrorCode::MethodNotFound as i32,
            format!("unsupported request `{}`", req.method),
        ),
    }
}

/// Decodes the parameters, runs the handler, encodes the result.
fn answer<P, R>(
    state: &State,
    id: RequestId,
    params: serde_json::Value,
    f: impl FnOnce(&State, P) -> Result<R, String>,
) -> Response
where
    P: DeserializeOwned,
    R: Serialize,
{
    let params: P = match serde_json::from_value(params) {
        Ok(p) => p,
        Err(e) => {
            return Response::new_err(id, ErrorCode::InvalidParams as i32, e.to_string());
        }
    };
    match f(state, params) {
        Ok(r) => Response::new_ok(id, r),
        Err(e) => Response::new_err(id, ErrorCode::RequestFailed as i32, e),
    }
}

impl State {
    /// The view of an open document, or an error naming it.
    pub(super) fn get<'a>(&'a self, uri: &'a Uri) -> Result<View<'a>, String> {
        self.view(uri)
            .ok_or_else(|| format!("`{}` is not open", uri.as_str()))
    }
}

fn handle_notification(state: &mut State, n: Notification) -> Vec<Notification> {
    match n.method.as_str() {
        DidOpenTextDocument::METHOD => {
            let Ok(p) = serde_json::from_value::<DidOpenTextDocumentParams>(n.params) else {
                return Vec::new();
            };
            let uri = p.text_document.uri;
            state.set_text(&uri, p.text_document.version, p.text_document.text);
            publish(state, &uri)
        }
        DidChangeTextDocument::METHOD => {
            let Ok(p) = serde_json::from_value::<DidChangeTextDocumentParams>(n.params) else {
                return Vec::new();
            };
            let uri = p.text_document.uri;
            let Some(doc) = state.docs.get(uri.as_str()) else {
                return Vec::new();
            };
            // Changes apply in order, each to the text the previous one produced.
            let mut text = doc.index.text().to_owned();
            for change in p.content_changes {
                match change.range {
                    None => text = change.text,
                    Some(range) => {
                        let index = LineIndex::new(&text);
                        let r = index.offsets(range);
                        text.replace_range(r, &change.text);
                    }
                }
            }
            state.set_text(&uri, p.text_document.version, text);
            publish(state, &uri)
        }
        DidCloseTextDocument::METHOD => {
            let Ok(p) = serde_json::from_value::<DidCloseTextDocumentParams>(n.params) else {
                return Vec::new();
            };
            let uri = p.text_document.uri;
            state.docs.remove(uri.as_str());
            vec![diagnostics_notification(PublishDiagnosticsParams {
                uri,
                diagnostics: Vec::new(),
                version: None,
            })]
        }
        _ => Vec::new(),
    }
}

fn publish(state: &State, uri: &Uri) -> Vec<Notification> {
    let Some(view) = state.view(uri) else {
        return Vec::new();
    };
    let diagnostics = view
        .analysis
        .diagnostics
        .iter()
        .map(|d| convert::diagnostic(d, &view.doc.index, uri))
        .collect();
    vec![diagnostics_notification(PublishDiagnosticsParams {
        uri: uri.clone(),
        diagnostics,
        version: Some(view.doc.version),
    })]
}

fn diagnostics_notification(p: PublishDiagnosticsParams) -> Notification {
    Notification::new(PublishDiagnostics::METHOD.into(), p)
}
