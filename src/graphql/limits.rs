//! A schema extension that caps the number of fields (aliases included) a document selects.
//!
//! Depth and complexity limits come with async-graphql; this one stops "wide" documents, such
//! as thousands of aliases of one field, before validation or execution spends time on them.

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{ServerError, ServerResult, Variables};

/// Rejects documents that select more than `max` fields in total.
pub struct FieldLimit {
    /// The largest number of field selections allowed.
    pub max: usize,
}

impl ExtensionFactory for FieldLimit {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(FieldLimitExtension { max: self.max })
    }
}

struct FieldLimitExtension {
    max: usize,
}

fn count(set: &SelectionSet) -> usize {
    set.items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(f) => 1 + count(&f.node.selection_set.node),
            Selection::InlineFragment(f) => count(&f.node.selection_set.node),
            Selection::FragmentSpread(_) => 0,
        })
        .sum()
}

/// Fields selected by every operation and fragment definition of `doc` (each definition counted once).
pub fn field_count(doc: &ExecutableDocument) -> usize {
    let operations: usize = doc.operations.iter().map(|(_, op)| count(&op.node.selection_set.node)).sum();
    let fragments: usize = doc.fragments.values().map(|f| count(&f.node.selection_set.node)).sum();
    operations + fragments
}

#[async_trait::async_trait]
impl Extension for FieldLimitExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let doc = next.run(ctx, query, variables).await?;
        let n = field_count(&doc);
        if n > self.max {
            return Err(ServerError::new(
                format!("the document selects {n} fields (aliases included); the limit is {}", self.max),
                None,
            ));
        }
        Ok(doc)
    }
}
