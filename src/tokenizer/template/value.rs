//! The data a chat template reads (messages, tools): JSON-shaped values, and their conversion
//! into the template engine's values with key order kept (a Python dict keeps insertion order,
//! and `tojson` / `items()` output depends on it).

use std::sync::Arc;

use minijinja::Value;
use minijinja::value::{Enumerator, Object, ObjectRepr};

/// A JSON value: what a message, a tool call or a tool schema is made of.
#[derive(Clone, Debug, PartialEq)]
pub enum ChatValue {
    Null,
    Bool(bool),
    /// An integer as JSON gives it (Python keeps it an `int`, printed without a fraction).
    Int(i64),
    Float(f64),
    String(String),
    List(Vec<ChatValue>),
    /// Key/value pairs in their given order.
    Map(Vec<(String, ChatValue)>),
}

impl ChatValue {
    /// A `{role, content}` message.
    pub fn message(role: &str, content: &str) -> ChatValue {
        ChatValue::Map(vec![
            ("role".to_string(), ChatValue::String(role.to_string())),
            ("content".to_string(), ChatValue::String(content.to_string())),
        ])
    }

    /// The value under `key` of a map.
    pub fn get(&self, key: &str) -> Option<&ChatValue> {
        match self {
            ChatValue::Map(pairs) => pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            ChatValue::String(s) => Some(s),
            _ => None,
        }
    }

    /// Bytes of text held, recursively (keys included): sizes the rendering budget.
    pub fn text_bytes(&self) -> usize {
        match self {
            ChatValue::String(s) => s.len(),
            ChatValue::List(items) => items.iter().map(ChatValue::text_bytes).sum(),
            ChatValue::Map(pairs) => pairs.iter().map(|(k, v)| k.len() + v.text_bytes()).sum(),
            _ => 8,
        }
    }

    /// The template engine's value.
    pub fn to_value(&self) -> Value {
        match self {
            ChatValue::Null => Value::from(()),
            ChatValue::Bool(b) => Value::from(*b),
            ChatValue::Int(i) => Value::from(*i),
            ChatValue::Float(x) => Value::from(*x),
            ChatValue::String(s) => Value::from(s.as_str()),
            ChatValue::List(items) => items.iter().map(ChatValue::to_value).collect(),
            ChatValue::Map(pairs) => Value::from_object(OrderedMap(
                pairs.iter().map(|(k, v)| (Value::from(k.as_str()), v.to_value())).collect(),
            )),
        }
    }
}

/// A map that answers lookups and iterates its keys in insertion order.
#[derive(Debug)]
struct OrderedMap(Vec<(Value, Value)>);

impl Object for OrderedMap {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.0.iter().map(|(k, _)| k.clone()).collect())
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(self.0.len())
    }
}
