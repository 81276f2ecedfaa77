//! Which stored columns a `passengers` selection reads beyond a passenger's fields, so that a
//! page reads no value its answer does not use (see [`Columns`]).

use std::collections::HashSet;

use async_graphql::parser::types::{Selection, SelectionSet};
use async_graphql::{Context, Name};

use super::fast::skipped;
use crate::service::page::Columns;

/// Request data: the caller reads no cursor of the connections in the answer. A page under
/// insertion order then leaves the insertion numbers unread: `pageInfo`'s cursors are null and
/// `edges` is an error. The REST shim sets it on its first page of the list, which it reads
/// again from a snapshot when the list is longer than a page.
#[derive(Debug, Clone, Copy)]
pub struct CursorsUnread;

/// What the selection beneath a connection field asks for.
#[derive(Debug, Default)]
struct Found {
    version: bool,
    cursor: bool,
}

/// The columns the selection of the connection field of `ctx` reads: every one when a
/// `version` is selected anywhere beneath it, the insertion number when a cursor is, and
/// otherwise the passenger's fields. Conservative: a field counts wherever it appears (under
/// `namesakes` too) and whatever the type condition of its fragment; only what `@skip` or
/// `@include` leaves out does not.
pub fn of_connection(ctx: &Context<'_>) -> Columns {
    let mut found = Found::default();
    scan(ctx, &ctx.item.node.selection_set.node, &mut found, &mut HashSet::new());
    if found.version {
        Columns::All
    } else if found.cursor && ctx.data_opt::<CursorsUnread>().is_none() {
        Columns::Insertion
    } else {
        Columns::Fields
    }
}

fn scan<'a>(ctx: &Context<'a>, set: &'a SelectionSet, found: &mut Found, visited: &mut HashSet<&'a Name>) {
    for item in &set.items {
        // A variable it cannot read fails the operation elsewhere; here it counts as included.
        if skipped(item.node.directives(), &ctx.query_env.variables).unwrap_or(false) {
            continue;
        }
        match &item.node {
            Selection::Field(field) => {
                match field.node.name.node.as_str() {
                    "version" => found.version = true,
                    "cursor" | "startCursor" | "endCursor" => found.cursor = true,
                    _ => {}
                }
                scan(ctx, &field.node.selection_set.node, found, visited);
            }
            Selection::InlineFragment(fragment) => scan(ctx, &fragment.node.selection_set.node, found, visited),
            Selection::FragmentSpread(spread) => {
                let name = &spread.node.fragment_name.node;
                // Each fragment once: it reads the same wherever it is spread (and validation
                // has refused cycles, which this also stops).
                if let Some(fragment) = ctx.query_env.fragments.get(name)
                    && visited.insert(name)
                {
                    scan(ctx, &fragment.node.selection_set.node, found, visited);
                }
            }
        }
    }
}
