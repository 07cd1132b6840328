//! Where a user id is stored: every cell of every table of a test bot's database (SQLite or
//! PostgreSQL), so a test can check that members' ids are stored nowhere and admins' ids
//! only in the audit log.

use careerbot::admin::store::Database;
use rusqlite::types::ValueRef;

use super::postgres::{query_one, query_texts, TestStore};

/// The tables of `store` with a cell that holds `id`: the integer itself, or its digits
/// inside a text. Sorted.
pub fn tables_holding(store: &TestStore, id: u64) -> Vec<String> {
    let digits = id.to_string();
    let mut tables: Vec<String> = match &store.database {
        Database::File(path) => {
            let conn = rusqlite::Connection::open(path).unwrap();
            let names: Vec<String> = conn
                .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
                .unwrap()
                .query_map([], |row| row.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            names
                .into_iter()
                .filter(|table| {
                    let mut stmt = conn.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
                    let columns = stmt.column_count();
                    let mut rows = stmt.query([]).unwrap();
                    let mut found = false;
                    while let Some(row) = rows.next().unwrap() {
                        found |= (0..columns).any(|n| match row.get_ref(n).unwrap() {
                            ValueRef::Integer(value) => value as u64 == id,
                            ValueRef::Text(bytes) | ValueRef::Blob(bytes) => {
                                String::from_utf8_lossy(bytes).contains(&digits)
                            }
                            ValueRef::Real(_) | ValueRef::Null => false,
                        });
                    }
                    found
                })
                .collect()
        }
        Database::Postgres(_) => {
            let url = &store.value;
            query_texts(
                url,
                "SELECT table_name::text FROM information_schema.tables
                 WHERE table_schema = current_schema()",
            )
            .into_iter()
            .filter(|table| {
                // A row as text holds every column's value, integers as their digits.
                let sql =
                    format!("SELECT COUNT(*) FROM {table} AS r WHERE r::text LIKE '%{digits}%'");
                query_one(url, &sql) > 0
            })
            .collect()
        }
    };
    tables.sort();
    tables
}

/// Each of `admins` is stored in the audit log and nowhere else, and no id of `members` is
/// stored anywhere.
#[track_caller]
pub fn assert_only_admins_in_the_audit_log(store: &TestStore, admins: &[u64], members: &[u64]) {
    for admin in admins {
        assert_eq!(
            tables_holding(store, *admin),
            ["audit_log"],
            "admin {admin}"
        );
    }
    for member in members {
        assert!(
            tables_holding(store, *member).is_empty(),
            "member {member} is stored in {:?}",
            tables_holding(store, *member)
        );
    }
}
