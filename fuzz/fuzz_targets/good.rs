//! The valid set of `tests/fixtures/good`, compiled into the targets that use it, so they
//! run from any directory.

/// Its files as (name, text), in load order.
pub const FILES: [(&str, &str); 4] = [
    (
        "courses.toml",
        include_str!("../../tests/fixtures/good/courses.toml"),
    ),
    (
        "meta.toml",
        include_str!("../../tests/fixtures/good/meta.toml"),
    ),
    (
        "role.toml",
        include_str!("../../tests/fixtures/good/role.toml"),
    ),
    (
        "synonyms.toml",
        include_str!("../../tests/fixtures/good/synonyms.toml"),
    ),
];
