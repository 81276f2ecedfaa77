//! Mutation root: create, replace, patch and delete passengers. Every input is validated
//! before anything is written; a violation is a `BAD_USER_INPUT` error naming the field.

use std::sync::Arc;

use async_graphql::{Context, MergedObject, Object, Result};
use uuid::Uuid;

use super::Settings;
use super::error::{GqlResult, bad_input};
use super::inputs::{PassengerInput, PassengerPatchInput};
use super::types::Passenger;
use crate::db::Db;
use crate::service::events::Events;
use crate::service::group::CreateQueue;
use crate::service::{Deadline, PassengerData, Target, ValidationError, WriteScope, Writer, passenger};

fn invalid(e: ValidationError) -> async_graphql::Error {
    bad_input(&e.field, e.problem)
}

/// The writer for this field: the request's enclosing transaction (an idempotent request) or
/// the write pool, the event fan-out, the deadline the executor set, when the selection asks
/// for `namesakes`, reading them inside the write's transaction, and SQLite's create queue.
fn writer<'a>(ctx: &Context<'a>) -> Result<Writer<'a>> {
    let target = match ctx.data_opt::<Arc<WriteScope>>() {
        Some(scope) => Target::Scope(scope),
        None => Target::Pool(&ctx.data::<Db>()?.write),
    };
    let namesakes = ctx.look_ahead().field("namesakes").exists().then_some(ctx.data::<Settings>()?.max_page_size);
    Ok(Writer {
        target,
        events: ctx.data::<Events>()?,
        deadline: ctx.data_opt::<Deadline>().copied(),
        namesakes,
        creates: ctx.data_opt::<CreateQueue>(),
    })
}

/// Every mutation field of the API: create, replace, patch and delete passengers.
#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct MutationRoot(PassengerMutation);

/// Writes to passengers.
#[derive(Default)]
pub struct PassengerMutation;

#[Object]
impl PassengerMutation {
    /// Creates a passenger and returns it with its new id.
    async fn create_passenger(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new passenger's data.")] input: PassengerInput,
    ) -> Result<Passenger> {
        let data = input.try_into().map_err(invalid)?;
        Ok(passenger::create(writer(ctx)?, data).await.gql()?.into())
    }

    /// Creates several passengers in one transaction: all of them, or none when any input is
    /// invalid. Returns them in input order.
    async fn create_passengers(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new passengers' data (at most the maximum page size).")] inputs: Vec<PassengerInput>,
    ) -> Result<Vec<Passenger>> {
        super::check_list_len(ctx, "inputs", "passengers", inputs.len())?;
        let data = inputs
            .into_iter()
            .enumerate()
            .map(|(i, input)| {
                PassengerData::try_from(input)
                    .map_err(|e| invalid(ValidationError::new(format!("inputs[{i}].{}", e.field), e.problem)))
            })
            .collect::<Result<Vec<_>>>()?;
        let rows = passenger::create_many(writer(ctx)?, data).await.gql()?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// Replaces all eight data fields of a passenger (omitted fields become null), like the
    /// legacy PUT. Returns the updated passenger, or null when the id is unknown.
    async fn update_passenger(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The passenger's id.")] id: Uuid,
        #[graphql(desc = "The complete new data.")] input: PassengerInput,
        #[graphql(
            desc = "Write only if the passenger is at this version (its `version` as you read it); otherwise nothing is written and the error has code CONFLICT and the current version in `extensions.currentVersion`."
        )]
        expected_version: Option<i64>,
    ) -> Result<Option<Passenger>> {
        let data = input.try_into().map_err(invalid)?;
        Ok(passenger::replace(writer(ctx)?, id, data, expected_version).await.gql()?.map(Into::into))
    }

    /// Changes only the given fields of a passenger (an explicit null clears a field). Returns
    /// the updated passenger, or null when the id is unknown.
    async fn patch_passenger(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The passenger's id.")] id: Uuid,
        #[graphql(desc = "The fields to change.")] patch: PassengerPatchInput,
        #[graphql(
            desc = "Write only if the passenger is at this version (its `version` as you read it); otherwise nothing is written and the error has code CONFLICT and the current version in `extensions.currentVersion`."
        )]
        expected_version: Option<i64>,
    ) -> Result<Option<Passenger>> {
        let patch = patch.try_into().map_err(invalid)?;
        Ok(passenger::patch(writer(ctx)?, id, patch, expected_version).await.gql()?.map(Into::into))
    }

    /// Deletes a passenger; true when a passenger was deleted, false when the id was unknown.
    async fn delete_passenger(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The passenger's id.")] id: Uuid,
        #[graphql(
            desc = "Delete only if the passenger is at this version (its `version` as you read it); otherwise nothing is deleted and the error has code CONFLICT and the current version in `extensions.currentVersion`."
        )]
        expected_version: Option<i64>,
    ) -> Result<bool> {
        passenger::delete(writer(ctx)?, id, expected_version).await.gql()
    }
}
