// The VS Code client: starts `wafl lsp` over stdio for `.flow` files.
"use strict";

const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const command = vscode.workspace.getConfiguration("wafl").get("server.path") || "wafl";
  const run = { command, args: ["lsp"], transport: TransportKind.stdio };
  client = new LanguageClient(
    "wafl",
    "wafl language server",
    { run, debug: run },
    { documentSelector: [{ scheme: "file", language: "wafl" }, { scheme: "untitled", language: "wafl" }] }
  );
  context.subscriptions.push(client);
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
