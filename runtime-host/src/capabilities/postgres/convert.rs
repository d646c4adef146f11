//! Between the interface's `parameter-value` / `db-value` and Postgres wire types. Text is
//! also accepted for `json`, `jsonb`, `uuid` and `numeric` parameters and returned for those
//! columns, so components need no casts for the types BattleScope stores.

use crate::bindings::postgres::{Column, DbDataType, DbValue, ParameterValue};
use bytes::BytesMut;
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Utc};
use std::error::Error as StdError;
use std::str::FromStr;
use tokio_postgres::types::{IsNull, ToSql, Type};
use tokio_postgres::Row;

type BoxError = Box<dyn StdError + Sync + Send>;

/// One bound parameter.
#[derive(Debug)]
pub struct Param(ParameterValue);

impl From<ParameterValue> for Param {
    fn from(v: ParameterValue) -> Self {
        Self(v)
    }
}

fn date((y, m, d): (i32, u8, u8)) -> Result<NaiveDate, BoxError> {
    NaiveDate::from_ymd_opt(y, m.into(), d.into()).ok_or_else(|| format!("invalid date {y}-{m}-{d}").into())
}

fn time((h, m, s, ns): (u8, u8, u8, u32)) -> Result<NaiveTime, BoxError> {
    NaiveTime::from_hms_nano_opt(h.into(), m.into(), s.into(), ns).ok_or_else(|| format!("invalid time {h}:{m}:{s}.{ns}").into())
}

fn datetime((y, mo, d, h, mi, s, ns): (i32, u8, u8, u8, u8, u8, u32)) -> Result<NaiveDateTime, BoxError> {
    Ok(date((y, mo, d))?.and_time(time((h, mi, s, ns))?))
}

fn write_instant(at: NaiveDateTime, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
    if *ty == Type::TIMESTAMPTZ {
        at.and_utc().to_sql_checked(ty, out)
    } else {
        at.to_sql_checked(ty, out)
    }
}

impl ToSql for Param {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        self.to_sql_checked(ty, out)
    }

    fn accepts(_: &Type) -> bool {
        // Checked per value in `to_sql_checked`, where the variant is known.
        true
    }

    fn to_sql_checked(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        use ParameterValue as P;
        match &self.0 {
            P::Boolean(v) => v.to_sql_checked(ty, out),
            P::Int8(v) => v.to_sql_checked(ty, out),
            P::Int16(v) => v.to_sql_checked(ty, out),
            P::Int32(v) => v.to_sql_checked(ty, out),
            P::Int64(v) => v.to_sql_checked(ty, out),
            P::Floating32(v) => v.to_sql_checked(ty, out),
            P::Floating64(v) => v.to_sql_checked(ty, out),
            P::Str(s) => match *ty {
                Type::JSON | Type::JSONB => serde_json::Value::from_str(s)?.to_sql_checked(ty, out),
                Type::UUID => uuid::Uuid::from_str(s)?.to_sql_checked(ty, out),
                Type::NUMERIC => rust_decimal::Decimal::from_str(s)?.to_sql_checked(ty, out),
                _ => s.to_sql_checked(ty, out),
            },
            P::Binary(b) => b.to_sql_checked(ty, out),
            P::Date(d) => date(*d)?.to_sql_checked(ty, out),
            P::Time(t) => time(*t)?.to_sql_checked(ty, out),
            P::Datetime(dt) => write_instant(datetime(*dt)?, ty, out),
            P::Timestamp(secs) => match *ty {
                Type::INT8 => secs.to_sql_checked(ty, out),
                _ => {
                    let at =
                        DateTime::<Utc>::from_timestamp(*secs, 0).ok_or_else(|| format!("timestamp {secs} is out of range"))?;
                    write_instant(at.naive_utc(), ty, out)
                }
            },
            P::DbNull => Ok(IsNull::Yes),
        }
    }
}

/// The interface's type for a column.
pub fn decode_column(column: &tokio_postgres::Column) -> Column {
    let data_type = match *column.type_() {
        Type::BOOL => DbDataType::Boolean,
        Type::CHAR => DbDataType::Int8,
        Type::INT2 => DbDataType::Int16,
        Type::INT4 => DbDataType::Int32,
        Type::INT8 => DbDataType::Int64,
        Type::FLOAT4 => DbDataType::Floating32,
        Type::FLOAT8 => DbDataType::Floating64,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::JSON | Type::JSONB | Type::UUID | Type::NUMERIC => {
            DbDataType::Str
        }
        Type::BYTEA => DbDataType::Binary,
        Type::DATE => DbDataType::Date,
        Type::TIME => DbDataType::Time,
        Type::TIMESTAMP | Type::TIMESTAMPTZ => DbDataType::Datetime,
        _ => DbDataType::Other,
    };
    Column { name: column.name().to_string(), data_type }
}

fn instant(at: NaiveDateTime) -> DbValue {
    DbValue::Datetime((
        at.year(),
        at.month() as u8,
        at.day() as u8,
        at.hour() as u8,
        at.minute() as u8,
        at.second() as u8,
        at.nanosecond(),
    ))
}

/// Column `i` of `row` as a `db-value`.
pub fn decode_value(row: &Row, i: usize) -> Result<DbValue, String> {
    let ty = row.columns()[i].type_().clone();
    let fail = |e: tokio_postgres::Error| format!("column {} ({ty}): {e}", row.columns()[i].name());
    macro_rules! get {
        ($t:ty, $variant:expr) => {
            row.try_get::<_, Option<$t>>(i).map_err(fail)?.map($variant).unwrap_or(DbValue::DbNull)
        };
    }
    Ok(match ty {
        Type::BOOL => get!(bool, DbValue::Boolean),
        Type::CHAR => get!(i8, DbValue::Int8),
        Type::INT2 => get!(i16, DbValue::Int16),
        Type::INT4 => get!(i32, DbValue::Int32),
        Type::INT8 => get!(i64, DbValue::Int64),
        Type::FLOAT4 => get!(f32, DbValue::Floating32),
        Type::FLOAT8 => get!(f64, DbValue::Floating64),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => get!(String, DbValue::Str),
        Type::JSON | Type::JSONB => get!(serde_json::Value, |v| DbValue::Str(v.to_string())),
        Type::UUID => get!(uuid::Uuid, |v| DbValue::Str(v.to_string())),
        Type::NUMERIC => get!(rust_decimal::Decimal, |v| DbValue::Str(v.to_string())),
        Type::BYTEA => get!(Vec<u8>, DbValue::Binary),
        Type::DATE => get!(NaiveDate, |d| DbValue::Date((d.year(), d.month() as u8, d.day() as u8))),
        Type::TIME => get!(NaiveTime, |t| DbValue::Time((t.hour() as u8, t.minute() as u8, t.second() as u8, t.nanosecond()))),
        Type::TIMESTAMP => get!(NaiveDateTime, instant),
        Type::TIMESTAMPTZ => get!(DateTime<Utc>, |t| instant(t.naive_utc())),
        _ => DbValue::Unsupported,
    })
}
