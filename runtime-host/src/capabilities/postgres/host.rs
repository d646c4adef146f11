use super::convert::{decode_column, decode_value, Param};
use super::{Connection, PostgresState};
use crate::bindings::postgres::{Column, DbValue, Error, Host, HostConnection, ParameterValue, RowSet};
use tokio_postgres::types::ToSql;
use wasmtime::component::Resource;

type R<T> = wasmtime::Result<Result<T, Error>>;

fn query_failed(e: tokio_postgres::Error) -> Error {
    match e.as_db_error() {
        Some(db) => Error::QueryFailed(format!("{} ({}): {}", db.message(), db.code().code(), db.detail().unwrap_or(""))),
        None => Error::QueryFailed(e.to_string()),
    }
}

fn params(values: Vec<ParameterValue>) -> Vec<Param> {
    values.into_iter().map(Param::from).collect()
}

/// Prepare `statement` (cached per pooled connection) and turn the parameters into values
/// tokio-postgres can bind.
async fn prepare(
    client: &deadpool_postgres::Object,
    statement: &str,
    values: Vec<ParameterValue>,
) -> Result<(tokio_postgres::Statement, Vec<Param>), Error> {
    let stmt = client.prepare_cached(statement).await.map_err(query_failed)?;
    Ok((stmt, params(values)))
}

fn bind(params: &[Param]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}

impl Host for PostgresState {}

impl HostConnection for PostgresState {
    async fn open(&mut self, address: String) -> R<Resource<Connection>> {
        let targets = match super::targets(&address) {
            Ok(t) => t,
            Err(e) => return Ok(Err(Error::ConnectionFailed(e))),
        };
        let allowed = &self.access.allowed_hosts;
        if let Some((host, port)) = targets.iter().find(|(h, p)| !allowed.allows("postgres", h, Some(*p))) {
            tracing::warn!(component = %self.access.component, host = %host, port = *port,
                "denied Postgres connection: address is not in allowed_outbound_hosts");
            return Ok(Err(Error::ConnectionFailed(format!(
                "address {} is not permitted: {host}:{port} is not in allowed_outbound_hosts",
                crate::databases::redact(&address)
            ))));
        }
        let pool = match self.pools.pool(&address).await {
            Ok(p) => p,
            Err(e) => return Ok(Err(Error::ConnectionFailed(e))),
        };
        match pool.get().await {
            Ok(client) => Ok(Ok(self.table.push(Connection::new(client))?)),
            Err(e) => Ok(Err(Error::ConnectionFailed(format!("connecting to database: {e}")))),
        }
    }

    async fn query(&mut self, c: Resource<Connection>, statement: String, values: Vec<ParameterValue>) -> R<RowSet> {
        let started = std::time::Instant::now();
        let span = self.open_span("query", &statement);
        let client = self.table.get(&c)?.client();
        let rows = match prepare(client, &statement, values).await {
            Ok((stmt, params)) => {
                client.query(&stmt, &bind(&params)).await.map(|rows| (stmt, rows)).map_err(bad_parameter_or_query)
            }
            Err(e) => Err(e),
        };
        self.finish("query", started, span, rows.as_ref().err());
        let (stmt, rows) = match rows {
            Ok(answer) => answer,
            Err(e) => return Ok(Err(e)),
        };
        let columns: Vec<Column> = stmt.columns().iter().map(decode_column).collect();
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut values: Vec<DbValue> = Vec::with_capacity(columns.len());
            for i in 0..row.len() {
                match decode_value(row, i) {
                    Ok(v) => values.push(v),
                    Err(e) => return Ok(Err(Error::ValueConversionFailed(e))),
                }
            }
            out.push(values);
        }
        Ok(Ok(RowSet { columns, rows: out }))
    }

    async fn execute(&mut self, c: Resource<Connection>, statement: String, values: Vec<ParameterValue>) -> R<u64> {
        let started = std::time::Instant::now();
        let span = self.open_span("execute", &statement);
        let client = self.table.get(&c)?.client();
        let affected = match prepare(client, &statement, values).await {
            Ok((stmt, params)) => client.execute(&stmt, &bind(&params)).await.map_err(bad_parameter_or_query),
            Err(e) => Err(e),
        };
        self.finish("execute", started, span, affected.as_ref().err());
        Ok(affected)
    }

    async fn drop(&mut self, c: Resource<Connection>) -> wasmtime::Result<()> {
        self.table.delete(c)?.release();
        Ok(())
    }
}

/// A parameter that cannot be sent as the column type surfaces from tokio-postgres as a
/// `ToSql` error, which the interface calls `bad-parameter`.
fn bad_parameter_or_query(e: tokio_postgres::Error) -> Error {
    if e.as_db_error().is_none() && std::error::Error::source(&e).is_some() && e.to_string().contains("serializing parameter") {
        Error::BadParameter(format!("{e}: {}", std::error::Error::source(&e).map(|s| s.to_string()).unwrap_or_default()))
    } else {
        query_failed(e)
    }
}
