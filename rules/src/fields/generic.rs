//! Generic event fields every source has (libsinsp `gen_event`): time, number, source.

use super::{field as f, ArgKind as A, FieldDef, FieldType as T};

#[rustfmt::skip]
pub(super) static FIELDS: &[FieldDef] = &[
    f("evt.num", T::Unsigned, A::None, 0, "Sequence number of the event."),
    f("evt.time", T::Str, A::None, 0, "Event timestamp as wall-clock time text with nanoseconds."),
    f("evt.time.s", T::Str, A::None, 0, "Event timestamp as wall-clock time text, whole seconds only."),
    f("evt.time.iso8601", T::Str, A::None, 0, "Event timestamp in ISO 8601 form (UTC, with nanoseconds)."),
    f("evt.datetime", T::Str, A::None, 0, "Event timestamp as date plus time text."),
    f("evt.datetime.s", T::Str, A::None, 0, "Event timestamp as date plus time text, whole seconds only."),
    f("evt.rawtime", T::AbsTime, A::None, 0, "Event timestamp in nanoseconds since the Unix epoch."),
    f("evt.rawtime.s", T::AbsTime, A::None, 0, "Seconds part of the epoch timestamp."),
    f("evt.rawtime.ns", T::AbsTime, A::None, 0, "Sub-second (nanosecond) part of the epoch timestamp."),
    f("evt.reltime", T::RelTime, A::None, 0, "Nanoseconds elapsed since the capture started."),
    f("evt.reltime.s", T::RelTime, A::None, 0, "Whole seconds elapsed since the capture started."),
    f("evt.reltime.ns", T::RelTime, A::None, 0, "Sub-second part of the time since the capture started."),
    f("evt.pluginname", T::Str, A::None, 0, "Name of the plugin that produced the event, for plugin sources."),
    f("evt.plugininfo", T::Str, A::None, 0, "Plugin-rendered one-line summary of a plugin event."),
    f("evt.source", T::Str, A::None, 0, "Name of the event source that emitted the event."),
    f("evt.is_async", T::Bool, A::None, 0, "True when the event was generated asynchronously."),
    f("evt.asynctype", T::Str, A::None, 0, "Kind of an asynchronous event (for example `container`)."),
    f("evt.hostname", T::Str, A::None, 0, "Host name of the machine (overridable through the environment)."),
];
