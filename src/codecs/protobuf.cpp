// Over 1,000 lines (1,040): the schema loading (proto_schema), the reflection reader (to_value)
// and the codec share the file-local option and error-collector types; the direct encoder already
// lives apart (proto_wire.cpp). The next seam is proto_schema into its own file.
//
// Protobuf (`schema = "proto"`, Iggy's name) on the typed record model, with libprotobuf's
// dynamic messages: the .proto files are compiled at start (compiler::Importer, include paths) or
// a descriptor set is loaded; no code is generated per schema. Decoding walks the message by
// reflection into typed values (well-known types to their typed or proto3-JSON forms); encoding
// writes the wire format directly from per-message plans (proto_wire.cpp) and leaves the forms
// that encoder does not take to protobuf's own proto3 JSON parser (JsonStringToMessage), so every
// JSON form the proto3 mapping allows (camelCase or proto names, int64 as strings, enum names or
// numbers, RFC 3339 timestamps, "1.5s" durations, Any with "@type", wrappers, Struct) is
// accepted. libprotobuf does not throw; a payload it cannot parse is a bad payload.

#include <google/protobuf/any.pb.h>
#include <google/protobuf/arena.h>
#include <google/protobuf/compiler/importer.h>
#include <google/protobuf/compiler/parser.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/descriptor_database.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/unknown_field_set.h>
#include <google/protobuf/util/json_util.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "codecs/codec.h"
#include "codecs/proto_paths.h"
#include "codecs/proto_wire.h"
#include "codecs/value.h"
#include "config/spec.h"

#ifndef TRIB_PROTOBUF_INCLUDE_DIR
#define TRIB_PROTOBUF_INCLUDE_DIR "/usr/include"
#endif

namespace trib::codecs {

namespace {

namespace pb = google::protobuf;

struct proto_options {
    std::optional<std::string> schema_path;
    std::optional<std::string> descriptor_set_path;
    std::optional<std::string> message_type;
    std::vector<std::string> include_paths{"."};
    bool use_any_wrapper = true;
    bool preserve_unknown_fields = false;
    bool json_field_names = false;
    std::map<std::string, std::string> field_mappings;
    int max_depth = 100;
    // Schema text held in memory (from a schema registry) instead of files: the main file's
    // name and text, and its imports by import name.
    std::optional<proto_text_source> text_source;
    // With text_source and no message_type: the message at these Confluent message indexes.
    std::vector<std::int32_t> message_indexes;
};

/// One in-memory schema file as a FileDescriptorProto: .proto text (compiler::Parser), or
/// the base64 of a serialized FileDescriptorProto, which is how Confluent's Python and Go
/// serializers register Protobuf schemas (and what `?format=serialized` returns).
class text_errors final : public pb::io::ErrorCollector {
  public:
    void AddError(int line, int column, const std::string& message) override {
        if (!text.empty())
            text += "; ";
        text += std::to_string(line + 1) + ":" + std::to_string(column + 1) + ": " + message;
    }
    std::string text;
};

bool looks_like_base64(std::string_view t) {
    if (t.empty())
        return false;
    for (char c : t)
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/' || c == '=' || c == '-' || c == '_' || c == '\n' || c == '\r'))
            return false;
    return true;
}

status file_proto_from_text(const std::string& name, const std::string& text,
                            pb::FileDescriptorProto& out) {
    if (text.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
        return fail(errc::invalid_argument, "proto: " + name + " is too large");
    if (looks_like_base64(text)) {
        std::string clean;
        for (char c : text)
            if (c != '\n' && c != '\r')
                clean.push_back(c);
        std::string raw;
        if (decode_base64(clean, raw) && out.ParseFromString(raw)) {
            if (out.name().empty())
                out.set_name(name);
            return ok();
        }
        out.Clear();
    }
    pb::io::ArrayInputStream in(text.data(), static_cast<int>(text.size()));
    text_errors errors;
    pb::io::Tokenizer tokenizer(&in, &errors);
    pb::compiler::Parser parser;
    parser.RecordErrorsTo(&errors);
    if (!parser.Parse(&tokenizer, &out) || !errors.text.empty())
        return fail(errc::invalid_argument,
                    "proto: cannot parse " + name + ": " +
                        (errors.text.empty() ? "syntax error" : errors.text));
    out.set_name(name);
    return ok();
}

class import_errors final : public pb::compiler::MultiFileErrorCollector {
  public:
    void AddError(const std::string& file, int line, int column,
                  const std::string& message) override {
        if (!text.empty())
            text += "; ";
        text += file + ":" + std::to_string(line + 1) + ":" + std::to_string(column + 1) + ": " +
                message;
    }
    std::string text;
};

class pool_errors final : public pb::DescriptorPool::ErrorCollector {
  public:
    void AddError(const std::string& file, const std::string& element, const pb::Message*,
                  ErrorLocation, const std::string& message) override {
        if (!text.empty())
            text += "; ";
        text += file + ": " + element + ": " + message;
    }
    std::string text;
};

bool read_file(const std::string& path, std::string& out) {
    std::ifstream f(path, std::ios::binary);
    if (!f)
        return false;
    std::ostringstream ss;
    ss << f.rdbuf();
    out = ss.str();
    return static_cast<bool>(f) || f.eof();
}

std::string unknown_key(int number) {
    return "unknown_field_" + std::to_string(number);
}

/// The compiled schema: the pool, the message descriptor and a prototype. Immutable after
/// construction; DynamicMessageFactory is thread-safe for GetPrototype.
class proto_schema {
  public:
    status load(const proto_options& o) {
        if (o.text_source) {
            for (const auto& [name, text] : o.text_source->imports)
                if (text.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
                    return fail(errc::invalid_argument, "proto: " + name + " is too large");
            if (o.text_source->main_text.size() >
                static_cast<std::size_t>(std::numeric_limits<int>::max()))
                return fail(errc::invalid_argument, "proto: the schema text is too large");
            // Every file becomes a FileDescriptorProto in one database; imports of the
            // well-known types come from libprotobuf's own (generated) pool.
            db_ = std::make_unique<pb::SimpleDescriptorDatabase>();
            pb::FileDescriptorProto main;
            TRIB_TRY(
                file_proto_from_text(o.text_source->main_name, o.text_source->main_text, main));
            const std::string main_name = main.name();
            std::vector<pb::FileDescriptorProto> files;
            files.push_back(std::move(main));
            for (const auto& [name, text] : o.text_source->imports) {
                pb::FileDescriptorProto f;
                TRIB_TRY(file_proto_from_text(name, text, f));
                // The reference name is the import name the main file uses.
                f.set_name(name);
                files.push_back(std::move(f));
            }
            std::set<std::string> have;
            for (std::size_t i = 0; i < files.size(); ++i) {
                if (!have.insert(files[i].name()).second)
                    continue;
                // A copy: push_back below may move the files.
                const std::vector<std::string> deps(files[i].dependency().begin(),
                                                    files[i].dependency().end());
                for (const auto& dep : deps) {
                    if (have.contains(dep))
                        continue;
                    bool given = false;
                    for (const auto& f : files)
                        given = given || f.name() == dep;
                    if (given)
                        continue;
                    const pb::FileDescriptor* wkt =
                        pb::DescriptorPool::generated_pool()->FindFileByName(dep);
                    if (wkt == nullptr)
                        return fail(errc::invalid_argument,
                                    "proto: " + files[i].name() + " imports " + dep +
                                        ", which is neither a reference nor a well-known type");
                    pb::FileDescriptorProto f;
                    wkt->CopyTo(&f);
                    files.push_back(std::move(f));
                }
            }
            have.clear();
            for (const auto& f : files) {
                if (!have.insert(f.name()).second)
                    continue;
                if (!db_->Add(f))
                    return fail(errc::invalid_argument,
                                "proto: " + f.name() + " is given twice or inconsistently");
            }
            owned_pool_ = std::make_unique<pb::DescriptorPool>(db_.get(), &pool_errors_);
            pool_ = owned_pool_.get();
            const pb::FileDescriptor* fd = pool_->FindFileByName(main_name);
            if (fd == nullptr)
                return fail(
                    errc::invalid_argument,
                    "proto: cannot build " + main_name + ": " +
                        (pool_errors_.text.empty() ? "an import is missing" : pool_errors_.text));
            if (!o.message_type) {
                // Confluent message indexes: a path through the file's (nested) messages.
                if (o.message_indexes.empty())
                    return fail(errc::invalid_argument, "proto: no message index");
                const pb::Descriptor* d = nullptr;
                for (std::int32_t i : o.message_indexes) {
                    const int count =
                        d == nullptr ? fd->message_type_count() : d->nested_type_count();
                    if (i < 0 || i >= count)
                        return fail(errc::invalid_argument,
                                    "proto: message index " + std::to_string(i) + " is not in " +
                                        o.text_source->main_name + " (" + std::to_string(count) +
                                        " messages at that level)");
                    d = d == nullptr ? fd->message_type(i) : d->nested_type(i);
                }
                desc_ = d;
                factory_ = std::make_unique<pb::DynamicMessageFactory>(pool_);
                prototype_ = factory_->GetPrototype(desc_);
                return ok();
            }
        } else if (o.schema_path) {
            tree_ = std::make_unique<pb::compiler::DiskSourceTree>();
            std::filesystem::path schema(*o.schema_path);
            if (!std::filesystem::exists(schema))
                return fail(errc::invalid_argument,
                            "proto: schema_path " + *o.schema_path + " does not exist");
            // The schema's own directory first (it is imported by its file name), then the
            // include paths, then the well-known types installed with libprotobuf.
            tree_->MapPath("", schema.parent_path().empty() ? "." : schema.parent_path().string());
            for (const auto& inc : o.include_paths)
                tree_->MapPath("", inc);
            tree_->MapPath("google/protobuf",
                           std::string(TRIB_PROTOBUF_INCLUDE_DIR) + "/google/protobuf");
            importer_ = std::make_unique<pb::compiler::Importer>(tree_.get(), &import_errors_);
            const std::string virtual_name = schema.filename().string();
            const pb::FileDescriptor* fd = importer_->Import(virtual_name);
            if (fd == nullptr)
                return fail(errc::invalid_argument,
                            "proto: cannot compile " + *o.schema_path + ": " +
                                (import_errors_.text.empty() ? "not found under the include paths"
                                                             : import_errors_.text));
            pool_ = importer_->pool();
        } else {
            std::string bytes;
            if (!read_file(*o.descriptor_set_path, bytes))
                return fail(errc::invalid_argument,
                            "proto: cannot read descriptor_set_path " + *o.descriptor_set_path);
            pb::FileDescriptorSet set;
            if (!set.ParseFromString(bytes))
                return fail(errc::invalid_argument,
                            "proto: " + *o.descriptor_set_path + " is not a FileDescriptorSet");
            db_ = std::make_unique<pb::SimpleDescriptorDatabase>();
            for (const auto& f : set.file()) {
                if (!db_->Add(f))
                    return fail(errc::invalid_argument, "proto: " + *o.descriptor_set_path +
                                                            " holds " + f.name() +
                                                            " twice or inconsistently");
            }
            owned_pool_ = std::make_unique<pb::DescriptorPool>(db_.get(), &pool_errors_);
            pool_ = owned_pool_.get();
        }
        desc_ = pool_->FindMessageTypeByName(*o.message_type);
        if (desc_ == nullptr)
            return fail(errc::invalid_argument,
                        "proto: message_type " + *o.message_type + " is not in the schema" +
                            (pool_errors_.text.empty() ? "" : " (" + pool_errors_.text + ")") +
                            " (use the full name with its package)");
        factory_ = std::make_unique<pb::DynamicMessageFactory>(pool_);
        prototype_ = factory_->GetPrototype(desc_);
        return ok();
    }

    const pb::Descriptor* descriptor() const { return desc_; }
    const pb::Message* prototype() const { return prototype_; }
    const pb::DescriptorPool* pool() const { return pool_; }
    /// The Confluent message indexes of the message: its path through the file's messages.
    std::vector<std::int32_t> message_indexes() const {
        std::vector<std::int32_t> path;
        for (const pb::Descriptor* d = desc_; d != nullptr; d = d->containing_type())
            path.insert(path.begin(), d->index());
        return path;
    }
    pb::MessageFactory* factory() const { return factory_.get(); }

  private:
    std::unique_ptr<pb::compiler::DiskSourceTree> tree_;
    import_errors import_errors_;
    std::unique_ptr<pb::compiler::Importer> importer_;
    std::unique_ptr<pb::SimpleDescriptorDatabase> db_;
    pool_errors pool_errors_;
    std::unique_ptr<pb::DescriptorPool> owned_pool_;
    const pb::DescriptorPool* pool_ = nullptr;
    const pb::Descriptor* desc_ = nullptr;
    std::unique_ptr<pb::DynamicMessageFactory> factory_;
    const pb::Message* prototype_ = nullptr;
};

/// Message -> typed value, by reflection.
class to_value {
  public:
    to_value(const proto_schema& s, const proto_options& o, arena& a) : s_(s), o_(o), a_(a) {}

    status message(const pb::Message& m, value& out, int depth) {
        if (depth > o_.max_depth)
            return bad_payload("proto: message nested deeper than " + std::to_string(o_.max_depth));
        const pb::Descriptor* d = m.GetDescriptor();
        const pb::Reflection* r = m.GetReflection();
        if (d->file()->name().rfind("google/protobuf/", 0) == 0)
            if (auto s = well_known(m, out, depth); s.has_value())
                return *s;
        std::vector<const pb::FieldDescriptor*> fields;
        r->ListFields(m, &fields);
        const pb::UnknownFieldSet& unknown = r->GetUnknownFields(m);
        const std::size_t extra = o_.preserve_unknown_fields ? unknown.field_count() : 0;
        entry* es = new_entries(a_, fields.size() + extra);
        std::size_t k = 0;
        for (const auto* f : fields) {
            const std::string& name = o_.json_field_names ? f->json_name() : f->name();
            es[k].key = value::string_value(copy_to_arena(a_, name));
            if (f->is_map()) {
                TRIB_TRY(map_field(m, f, es[k].val, depth));
            } else if (f->is_repeated()) {
                const int n = r->FieldSize(m, f);
                value* items = new_values(a_, static_cast<std::size_t>(n));
                for (int i = 0; i < n; ++i)
                    TRIB_TRY(field(m, f, i, items[i], depth));
                es[k].val.type = value_type::list;
                es[k].val.n = static_cast<std::uint32_t>(n);
                es[k].val.items = items;
            } else {
                TRIB_TRY(field(m, f, -1, es[k].val, depth));
            }
            ++k;
        }
        for (std::size_t u = 0; u < extra; ++u) {
            const pb::UnknownField& uf = unknown.field(static_cast<int>(u));
            // A known field's number with the wrong wire type: kept only in the original bytes
            // (as a second field of that name it would clash with the known one).
            if (d->FindFieldByNumber(uf.number()) != nullptr)
                continue;
            es[k].key = value::string_value(copy_to_arena(a_, unknown_key(uf.number())));
            switch (uf.type()) {
                case pb::UnknownField::TYPE_VARINT:
                    es[k].val = value::uint_value(uf.varint());
                    break;
                case pb::UnknownField::TYPE_FIXED32:
                    es[k].val = value::uint_value(uf.fixed32());
                    break;
                case pb::UnknownField::TYPE_FIXED64:
                    es[k].val = value::uint_value(uf.fixed64());
                    break;
                case pb::UnknownField::TYPE_LENGTH_DELIMITED:
                    es[k].val = value::bytes_value(copy_to_arena(a_, uf.length_delimited()));
                    break;
                case pb::UnknownField::TYPE_GROUP:
                    es[k].val = value();  // deprecated groups: the number is kept, not the data
                    break;
            }
            ++k;
        }
        out = value();
        out.type = value_type::record;
        out.n = static_cast<std::uint32_t>(k);
        out.entries = es;
        return ok();
    }

  private:
    status field(const pb::Message& m, const pb::FieldDescriptor* f, int i, value& out, int depth) {
        const pb::Reflection* r = m.GetReflection();
        const bool rep = i >= 0;
        using T = pb::FieldDescriptor;
        switch (f->cpp_type()) {
            case T::CPPTYPE_INT32:
                out = value::int_value(rep ? r->GetRepeatedInt32(m, f, i) : r->GetInt32(m, f));
                return ok();
            case T::CPPTYPE_INT64:
                out = value::int_value(rep ? r->GetRepeatedInt64(m, f, i) : r->GetInt64(m, f));
                return ok();
            case T::CPPTYPE_UINT32:
                out = value::uint_value(rep ? r->GetRepeatedUInt32(m, f, i) : r->GetUInt32(m, f));
                return ok();
            case T::CPPTYPE_UINT64:
                out = value::uint_value(rep ? r->GetRepeatedUInt64(m, f, i) : r->GetUInt64(m, f));
                return ok();
            case T::CPPTYPE_FLOAT:
                out = value::float_value(rep ? r->GetRepeatedFloat(m, f, i) : r->GetFloat(m, f));
                return ok();
            case T::CPPTYPE_DOUBLE:
                out = value::float_value(rep ? r->GetRepeatedDouble(m, f, i) : r->GetDouble(m, f));
                return ok();
            case T::CPPTYPE_BOOL:
                out = value::boolean_value(rep ? r->GetRepeatedBool(m, f, i) : r->GetBool(m, f));
                return ok();
            case T::CPPTYPE_ENUM: {
                int n = rep ? r->GetRepeatedEnumValue(m, f, i) : r->GetEnumValue(m, f);
                const pb::EnumValueDescriptor* ev = f->enum_type()->FindValueByNumber(n);
                if (f->enum_type()->full_name() == "google.protobuf.NullValue")
                    out = value();
                else if (ev != nullptr)
                    out = value::string_value(copy_to_arena(a_, ev->name()));
                else
                    out = value::int_value(n);  // an open enum's unknown number
                return ok();
            }
            case T::CPPTYPE_STRING: {
                std::string scratch;
                const std::string& s = rep ? r->GetRepeatedStringReference(m, f, i, &scratch)
                                           : r->GetStringReference(m, f, &scratch);
                if (f->type() == T::TYPE_BYTES) {
                    out = value::bytes_value(copy_to_arena(a_, s));
                } else {
                    if (!valid_utf8(s))
                        return bad_payload("proto: field " + f->name() + " is not valid UTF-8");
                    out = value::string_value(copy_to_arena(a_, s));
                }
                return ok();
            }
            case T::CPPTYPE_MESSAGE:
                return message(rep ? r->GetRepeatedMessage(m, f, i) : r->GetMessage(m, f), out,
                               depth + 1);
        }
        return ok();
    }

    status map_field(const pb::Message& m, const pb::FieldDescriptor* f, value& out, int depth) {
        const pb::Reflection* r = m.GetReflection();
        const int n = r->FieldSize(m, f);
        entry* es = new_entries(a_, static_cast<std::size_t>(n));
        const pb::FieldDescriptor* kf = f->message_type()->map_key();
        const pb::FieldDescriptor* vf = f->message_type()->map_value();
        for (int i = 0; i < n; ++i) {
            const pb::Message& e = r->GetRepeatedMessage(m, f, i);
            TRIB_TRY(field(e, kf, -1, es[i].key, depth + 1));
            TRIB_TRY(field(e, vf, -1, es[i].val, depth + 1));
        }
        out = value();
        out.type = value_type::map;
        out.n = static_cast<std::uint32_t>(n);
        out.entries = es;
        return ok();
    }

    // The well-known types with a proto3 JSON form of their own; nullopt: an ordinary message.
    std::optional<status> well_known(const pb::Message& m, value& out, int depth) {
        const pb::Descriptor* d = m.GetDescriptor();
        const pb::Reflection* r = m.GetReflection();
        const std::string& n = d->full_name();
        auto fld = [&](int number) { return d->FindFieldByNumber(number); };
        if (n == "google.protobuf.Timestamp") {
            std::int64_t secs = r->GetInt64(m, fld(1));
            std::int32_t nanos = r->GetInt32(m, fld(2));
            if (nanos < 0 || nanos > 999'999'999)
                return bad_payload("proto: Timestamp nanos out of range");
            out = value::timestamp_value(secs, static_cast<std::uint32_t>(nanos));
            return ok();
        }
        if (n == "google.protobuf.Duration") {
            std::int64_t secs = r->GetInt64(m, fld(1));
            std::int32_t nanos = r->GetInt32(m, fld(2));
            if (nanos < -999'999'999 || nanos > 999'999'999 || (secs > 0 && nanos < 0) ||
                (secs < 0 && nanos > 0))
                return bad_payload("proto: Duration nanos out of range");
            std::string s = (secs < 0 || nanos < 0) ? "-" : "";
            s += std::to_string(secs < 0 ? -static_cast<std::uint64_t>(secs)
                                         : static_cast<std::uint64_t>(secs));
            std::uint32_t an = static_cast<std::uint32_t>(nanos < 0 ? -nanos : nanos);
            if (an != 0) {
                char buf[16];
                if (an % 1'000'000 == 0)
                    std::snprintf(buf, sizeof buf, ".%03u", an / 1'000'000);
                else if (an % 1000 == 0)
                    std::snprintf(buf, sizeof buf, ".%06u", an / 1000);
                else
                    std::snprintf(buf, sizeof buf, ".%09u", an);
                s += buf;
            }
            s += "s";
            out = value::string_value(copy_to_arena(a_, s));
            return ok();
        }
        if (n == "google.protobuf.DoubleValue" || n == "google.protobuf.FloatValue" ||
            n == "google.protobuf.Int64Value" || n == "google.protobuf.UInt64Value" ||
            n == "google.protobuf.Int32Value" || n == "google.protobuf.UInt32Value" ||
            n == "google.protobuf.BoolValue" || n == "google.protobuf.StringValue" ||
            n == "google.protobuf.BytesValue")
            return field(m, fld(1), -1, out, depth);
        if (n == "google.protobuf.Struct")
            return struct_fields(m, out, depth);
        if (n == "google.protobuf.Value") {
            std::vector<const pb::FieldDescriptor*> set;
            r->ListFields(m, &set);
            if (set.empty()) {
                out = value();
                return ok();
            }
            return field(m, set[0], -1, out, depth);
        }
        if (n == "google.protobuf.ListValue") {
            const pb::FieldDescriptor* vf = fld(1);
            const int count = r->FieldSize(m, vf);
            value* items = new_values(a_, static_cast<std::size_t>(count));
            for (int i = 0; i < count; ++i)
                TRIB_TRY(field(m, vf, i, items[i], depth));
            out = value();
            out.type = value_type::list;
            out.n = static_cast<std::uint32_t>(count);
            out.items = items;
            return ok();
        }
        if (n == "google.protobuf.FieldMask") {
            const pb::FieldDescriptor* pf = fld(1);
            std::string s;
            for (int i = 0; i < r->FieldSize(m, pf); ++i) {
                if (i)
                    s += ',';
                // snake_case -> lowerCamelCase, as the proto3 JSON mapping writes paths.
                bool up = false;
                for (char c : r->GetRepeatedString(m, pf, i)) {
                    if (c == '_') {
                        up = true;
                        continue;
                    }
                    s += up ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
                    up = false;
                }
            }
            out = value::string_value(copy_to_arena(a_, s));
            return ok();
        }
        if (n == "google.protobuf.Any")
            return any(m, out, depth);
        return std::nullopt;  // Empty and the descriptor types: ordinary messages
    }

    status struct_fields(const pb::Message& m, value& out, int depth) {
        const pb::Reflection* r = m.GetReflection();
        const pb::FieldDescriptor* ff = m.GetDescriptor()->FindFieldByNumber(1);
        const int n = r->FieldSize(m, ff);
        entry* es = new_entries(a_, static_cast<std::size_t>(n));
        const pb::FieldDescriptor* kf = ff->message_type()->map_key();
        const pb::FieldDescriptor* vf = ff->message_type()->map_value();
        for (int i = 0; i < n; ++i) {
            const pb::Message& e = r->GetRepeatedMessage(m, ff, i);
            TRIB_TRY(field(e, kf, -1, es[i].key, depth + 1));
            TRIB_TRY(field(e, vf, -1, es[i].val, depth + 1));
        }
        out = value();
        out.type = value_type::record;
        out.n = static_cast<std::uint32_t>(n);
        out.entries = es;
        return ok();
    }

    // Any: {"@type": url, ...the message's fields} when the type is in the schema's pool (a
    // well-known type inside: {"@type": url, "value": its form}); otherwise a bad payload, as
    // in protobuf's JSON printer.
    status any(const pb::Message& m, value& out, int depth) {
        const pb::Reflection* r = m.GetReflection();
        const pb::Descriptor* d = m.GetDescriptor();
        std::string url = r->GetString(m, d->FindFieldByNumber(1));
        std::string bytes = r->GetString(m, d->FindFieldByNumber(2));
        if (url.empty() && bytes.empty()) {
            out = value();
            out.type = value_type::record;
            return ok();
        }
        std::string type_name = url.substr(url.rfind('/') + 1);
        const pb::Descriptor* inner = s_.pool()->FindMessageTypeByName(type_name);
        if (inner == nullptr)
            return bad_payload("proto: Any holds " + url + ", a type the schema does not know");
        std::unique_ptr<pb::Message> im(s_.factory()->GetPrototype(inner)->New());
        pb::io::CodedInputStream cis(reinterpret_cast<const std::uint8_t*>(bytes.data()),
                                     static_cast<int>(bytes.size()));
        cis.SetRecursionLimit(o_.max_depth - depth);
        if (!im->MergePartialFromCodedStream(&cis) || !cis.ConsumedEntireMessage())
            return bad_payload("proto: Any value is not a valid " + type_name);
        value iv;
        TRIB_TRY(message(*im, iv, depth + 1));
        const bool wkt = inner->file()->name().rfind("google/protobuf/", 0) == 0 &&
                         iv.type != value_type::record;
        const bool wkt_record =
            inner->file()->name().rfind("google/protobuf/", 0) == 0 &&
            (type_name == "google.protobuf.Struct" || type_name == "google.protobuf.Empty" ||
             type_name == "google.protobuf.Any");
        if (wkt || wkt_record) {
            entry* es = new_entries(a_, 2);
            es[0].key = value::string_value("@type");
            es[0].val = value::string_value(copy_to_arena(a_, url));
            es[1].key = value::string_value("value");
            es[1].val = iv;
            out = value();
            out.type = value_type::record;
            out.n = 2;
            out.entries = es;
            return ok();
        }
        entry* es = new_entries(a_, iv.n + 1);
        es[0].key = value::string_value("@type");
        es[0].val = value::string_value(copy_to_arena(a_, url));
        for (std::uint32_t k = 0; k < iv.n; ++k)
            es[k + 1] = iv.entries[k];
        out = value();
        out.type = value_type::record;
        out.n = iv.n + 1;
        out.entries = es;
        return ok();
    }

    const proto_schema& s_;
    const proto_options& o_;
    arena& a_;
};

class proto_codec final : public codec {
  public:
    explicit proto_codec(proto_options o, proto_paths paths = {})
        : o_(std::move(o)), paths_(paths) {}

    status init() {
        if (o_.schema_path || o_.descriptor_set_path || o_.text_source) {
            schema_ = std::make_unique<proto_schema>();
            TRIB_TRY(schema_->load(o_));
            wire_.build(schema_->descriptor());
            std::set<const pb::Descriptor*> seen;
            has_required_ = any_required(schema_->descriptor(), seen);
        }
        return ok();
    }

    std::string_view name() const override { return "proto"; }
    record_kind kind() const override {
        return schema_ || o_.use_any_wrapper ? record_kind::typed : record_kind::raw;
    }

    status decode(std::string_view payload, arena& a, record& out) const override {
        out.modified = false;
        if (!schema_ && !o_.use_any_wrapper) {
            out = record{record_kind::raw, payload, nullptr, false, nullptr};
            return ok();
        }
        if (payload.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
            return bad_payload("proto: payload above 2 GiB");
        pb::io::CodedInputStream cis(reinterpret_cast<const std::uint8_t*>(payload.data()),
                                     static_cast<int>(payload.size()));
        cis.SetRecursionLimit(o_.max_depth);
        if (!schema_) {
            // Iggy's default: the payload is a google.protobuf.Any.
            pb::Any any;
            if (payload.empty() || !any.MergePartialFromCodedStream(&cis) ||
                !cis.ConsumedEntireMessage())
                return bad_payload(
                    "proto: payload is not a google.protobuf.Any (no schema_path "
                    "or descriptor_set_path is set)");
            if (any.type_url().empty())
                return bad_payload("proto: the google.protobuf.Any has no type_url");
            entry* es = new_entries(a, 2);
            es[0].key = value::string_value("type_url");
            es[0].val = value::string_value(copy_to_arena(a, any.type_url()));
            es[1].key = value::string_value("value");
            es[1].val = value::bytes_value(copy_to_arena(a, any.value()));
            value v;
            v.type = value_type::record;
            v.n = 2;
            v.entries = es;
            set_typed(out, new_value(a, v));
            return ok();
        }
        // The message and its sub-messages live in an arena whose first block is on this stack:
        // a typical payload is parsed without one malloc per message and freed in one go.
        alignas(8) char first_block[8192];
        pb::ArenaOptions ao;
        ao.initial_block = first_block;
        ao.initial_block_size = sizeof first_block;
        pb::Arena message_arena(ao);
        pb::Message* m = schema_->prototype()->New(&message_arena);
        if (!m->MergePartialFromCodedStream(&cis) || !cis.ConsumedEntireMessage())
            return bad_payload("proto: payload is not a valid " +
                               schema_->descriptor()->full_name());
        if (has_required_ && !m->IsInitialized())
            return bad_payload("proto: " + schema_->descriptor()->full_name() +
                               " misses required fields: " + m->InitializationErrorString());
        value v;
        to_value tv(*schema_, o_, a);
        TRIB_TRY(tv.message(*m, v, 0));
        rename(v, a, false);
        set_typed(out, new_value(a, v));
        return ok();
    }

    status encode(const record& in, arena& a, std::string& out) const override {
        if (!schema_ && !o_.use_any_wrapper) {
            if (in.kind == record_kind::raw || in.kind == record_kind::text) {
                out.append(in.bytes);
                return ok();
            }
            return bad_payload("proto: without a schema only raw records can be encoded");
        }
        value_limits lim;
        lim.max_depth = static_cast<std::uint32_t>(o_.max_depth);
        value v;
        TRIB_TRY(to_typed(in, a, v, lim));
        if (v.type != value_type::record)
            return bad_payload("proto: can only encode a record, not a " +
                               std::string(to_string(v.type)));
        if (!schema_)
            return encode_any(v, out);
        rename(v, a, true);
        // Unknown fields kept by decode go back as unknown fields, not through JSON.
        pb::UnknownFieldSet unknown;
        if (o_.preserve_unknown_fields)
            TRIB_TRY(split_unknown(v, a, unknown));
        if (paths_.direct_encode) {
            const std::size_t start = out.size();
            if (wire_.encode(v, out, lim.max_depth) == proto_wire::outcome::done) {
                // After the known fields, as libprotobuf serialises them.
                if (!unknown.empty()) {
                    std::string tail;
                    unknown.SerializeToString(&tail);
                    out += tail;
                }
                return ok();
            }
            out.resize(start);
            if (!paths_.json_fallback)
                return bad_payload("proto: the direct encoder leaves this record to the JSON path");
        }
        json_value j;
        TRIB_TRY(to_json(v, a, j, lim));
        std::string text;
        TRIB_TRY(write_json(j, a, text));
        std::unique_ptr<pb::Message> m(schema_->prototype()->New());
        pb::util::JsonParseOptions po;
        auto st = pb::util::JsonStringToMessage(text, m.get(), po);
        if (!st.ok())
            return bad_payload("proto: cannot encode as " + schema_->descriptor()->full_name() +
                               ": " + std::string(st.message()));
        if (!unknown.empty())
            m->GetReflection()->MutableUnknownFields(m.get())->MergeFrom(unknown);
        if (!m->AppendPartialToString(&out))
            return bad_payload("proto: cannot serialise " + schema_->descriptor()->full_name());
        return ok();
    }

  private:
    // Whether a message reachable from `d` has proto2 required fields: without any (proto3),
    // IsInitialized() is always true and costs a reflection walk per payload.
    static bool any_required(const pb::Descriptor* d, std::set<const pb::Descriptor*>& seen) {
        if (!seen.insert(d).second)
            return false;
        for (int i = 0; i < d->field_count(); ++i) {
            const pb::FieldDescriptor* f = d->field(i);
            if (f->is_required())
                return true;
            if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE &&
                any_required(f->message_type(), seen))
                return true;
        }
        return false;
    }

    // field_mappings renames top-level fields after decoding (Iggy) and back before encoding.
    void rename(value& v, arena& a, bool back) const {
        if (o_.field_mappings.empty() || v.type != value_type::record)
            return;
        entry* es = new_entries(a, v.n);
        for (std::uint32_t k = 0; k < v.n; ++k) {
            es[k] = v.entries[k];
            std::string_view key = es[k].key.str();
            for (const auto& [from, to] : o_.field_mappings) {
                if ((back ? to : from) == key) {
                    es[k].key = value::string_value(back ? from : to);
                    break;
                }
            }
        }
        v.entries = es;
    }

    status split_unknown(value& v, arena& a, pb::UnknownFieldSet& unknown) const {
        entry* es = new_entries(a, v.n);
        std::uint32_t kept = 0;
        for (std::uint32_t k = 0; k < v.n; ++k) {
            std::string_view key = v.entries[k].key.str();
            if (key.rfind("unknown_field_", 0) != 0) {
                es[kept++] = v.entries[k];
                continue;
            }
            int number = 0;
            for (char c : key.substr(14)) {
                if (c < '0' || c > '9' || number > 100'000'000)
                    return bad_payload("proto: bad unknown field key " + std::string(key));
                number = number * 10 + (c - '0');
            }
            if (number < 1 || number > 536'870'911)
                return bad_payload("proto: bad unknown field number in " + std::string(key));
            if (schema_->descriptor()->FindFieldByNumber(number) != nullptr)
                return bad_payload("proto: " + std::string(key) + " is a known field's number");
            const value& x = v.entries[k].val;
            if (x.type == value_type::int64 && x.i >= 0) {
                unknown.AddVarint(number, static_cast<std::uint64_t>(x.i));
            } else if (x.type == value_type::uint64) {
                unknown.AddVarint(number, x.u);
            } else if (x.type == value_type::bytes) {
                unknown.AddLengthDelimited(number, std::string(x.str()));
            } else if (x.type == value_type::string) {
                // From JSON: bytes as base64.
                std::string raw;
                if (!decode_base64(x.str(), raw))
                    return bad_payload("proto: " + std::string(key) + " is not base64");
                unknown.AddLengthDelimited(number, raw);
            } else if (x.type != value_type::null) {
                return bad_payload("proto: " + std::string(key) + " must be a number or bytes");
            }
        }
        v.n = kept;
        v.entries = es;
        return ok();
    }

    status encode_any(const value& v, std::string& out) const {
        pb::Any any;
        bool has_url = false;
        for (std::uint32_t k = 0; k < v.n; ++k) {
            if (v.entries[k].key.str() == "type_url" &&
                v.entries[k].val.type == value_type::string) {
                any.set_type_url(std::string(v.entries[k].val.str()));
                has_url = !any.type_url().empty();
            }
            if (v.entries[k].key.str() != "value")
                continue;
            const value& x = v.entries[k].val;
            if (x.type == value_type::bytes) {
                any.set_value(std::string(x.str()));
            } else if (x.type == value_type::string) {
                std::string raw;
                if (!decode_base64(x.str(), raw))
                    return bad_payload("proto: Any value is not base64");
                any.set_value(raw);
            } else {
                return bad_payload("proto: Any value must be bytes");
            }
        }
        if (!has_url)
            return bad_payload("proto: an Any needs a type_url (a non-empty string)");
        any.AppendToString(&out);
        return ok();
    }

  public:
    const proto_schema* schema() const { return schema_.get(); }

  private:
    proto_options o_;
    proto_paths paths_;
    std::unique_ptr<proto_schema> schema_;
    bool has_required_ = true;
    proto_wire::encoder wire_;
};

}  // namespace

result<proto_text_codec> make_proto_codec_from_text(const proto_text_source& src,
                                                    std::string_view message_type,
                                                    std::span<const std::int32_t> indexes,
                                                    const proto_text_options& opts) {
    proto_options o;
    o.text_source = src;
    if (!message_type.empty())
        o.message_type = std::string(message_type);
    o.message_indexes.assign(indexes.begin(), indexes.end());
    o.json_field_names = opts.json_field_names;
    o.preserve_unknown_fields = opts.preserve_unknown_fields;
    o.max_depth = opts.max_depth;
    auto c = std::make_unique<proto_codec>(std::move(o));
    TRIB_TRY(c->init());
    proto_text_codec out;
    out.message_type = c->schema()->descriptor()->full_name();
    out.indexes = c->schema()->message_indexes();
    out.inner = std::move(c);
    return out;
}

config::spec proto_codec_spec() {
    config::spec s;
    s.name = "proto";
    s.kind = config::spec_kind::codec;
    s.summary = "Protocol Buffers through dynamic messages (Iggy's `proto`).";
    s.description =
        "With schema_path (a .proto file compiled at start with include_paths) or "
        "descriptor_set_path (a FileDescriptorSet from `protoc --include_imports "
        "--descriptor_set_out`) and message_type, each payload is one message, decoded by "
        "reflection to a typed record: fields that are set, by proto name (json_field_names: "
        "lowerCamelCase), int64 as integers, enums by name, bytes as bytes, Timestamp as a "
        "timestamp, Duration and FieldMask as their proto3 JSON strings, wrappers as their "
        "value, Struct/Value/ListValue as records, values and lists, Any as {\"@type\", "
        "fields...} when its type is in the schema. Encoding takes any proto3 JSON form "
        "(protobuf's own JSON parser). Without a schema, payloads are google.protobuf.Any "
        "messages ({\"type_url\", \"value\"}) while use_any_wrapper is true, raw bytes "
        "otherwise. A payload that does not parse, misses proto2 required fields, holds "
        "invalid UTF-8 in a string or nests deeper than max_depth is a bad payload.";
    s.options.push_back(config::opt_or_absent("schema_path", config::opt_type::string,
                                              "The .proto file that defines message_type.",
                                              std::nullopt));
    s.options.push_back(
        config::opt_or_absent("message_type", config::opt_type::string,
                              "Full name of the payload's message (package.Message); required "
                              "with a schema.",
                              std::nullopt));
    auto inc = config::opt_or_absent(
        "include_paths", config::opt_type::list,
        "Directories imports are resolved against (the schema's own directory and "
        "the well-known types are always searched).",
        "[\".\"]");
    s.options.push_back(inc);
    s.options.push_back(
        config::opt_or_absent("descriptor_set_path", config::opt_type::string,
                              "A serialized FileDescriptorSet instead of schema_path (Tributary; "
                              "Iggy takes the bytes inline as descriptor_set).",
                              std::nullopt));
    s.options.push_back(
        config::opt_or_absent("use_any_wrapper", config::opt_type::boolean,
                              "Without a schema, decode payloads as google.protobuf.Any.", "true"));
    s.options.push_back(
        config::opt_or_absent("preserve_unknown_fields", config::opt_type::boolean,
                              "Keep fields the schema does not know as unknown_field_<number> "
                              "(varints and fixed as integers, length-delimited as bytes); they "
                              "are written back as unknown fields when encoding.",
                              "false"));
    s.options.push_back(
        config::opt_or_absent("field_mappings", config::opt_type::map,
                              "Renames top-level fields after decoding (old = \"new\"); encoding "
                              "renames them back.",
                              std::nullopt));
    s.options.push_back(
        config::opt_or_absent("json_field_names", config::opt_type::boolean,
                              "Name fields by their lowerCamelCase JSON names (the proto3 JSON "
                              "mapping) instead of their proto names (Iggy).",
                              "false"));
    auto depth = config::opt_or_absent("max_depth", config::opt_type::integer,
                                       "Deepest message nesting accepted.", "100");
    depth.min = 1;
    depth.max = 1000;
    s.options.push_back(depth);
    auto reg = config::opt_or_absent(
        "schema_registry_url", config::opt_type::string,
        "Accepted for Iggy's files but refused when set: Confluent-framed payloads with a "
        "registry are the schema_registry codec's (format = \"protobuf\").",
        std::nullopt);
    reg.advanced = true;
    s.options.push_back(reg);
    auto ds = config::opt_or_absent(
        "descriptor_set", config::opt_type::any,
        "Iggy's inline descriptor bytes: not supported (refused when set); use "
        "descriptor_set_path.",
        std::nullopt);
    ds.advanced = true;
    s.options.push_back(ds);
    s.check = [](const config::values& v, const config::check_report& report) {
        if (v.has("schema_path") && v.has("descriptor_set_path"))
            report("descriptor_set_path", "set schema_path or descriptor_set_path, not both");
        if ((v.has("schema_path") || v.has("descriptor_set_path")) && !v.has("message_type"))
            report("message_type", "is required with a schema");
        if (v.has("schema_registry_url"))
            report("schema_registry_url",
                   "use the schema_registry codec for payloads framed by a schema registry");
        if (v.has("descriptor_set"))
            report("descriptor_set",
                   "inline descriptor bytes are not supported; use "
                   "descriptor_set_path");
    };
    s.example = "[[streams]]\nstream = \"devices\"\ntopics = [\"telemetry\"]\nschema = \"proto\"";
    return s;
}

result<std::unique_ptr<codec>> make_proto_codec(const config::values& v) {
    return make_proto_codec_with(v, proto_paths{});
}

result<std::unique_ptr<codec>> make_proto_codec_with(const config::values& v,
                                                     const proto_paths& paths) {
    // libprotobuf logs every payload it refuses (invalid UTF-8, ...) to stderr: a hostile
    // stream would flood the log. The codec reports those as bad payloads instead; only fatal
    // messages (bugs, which abort anyway) are kept.
    static const bool quiet = [] {
        pb::SetLogHandler([](pb::LogLevel level, const char* file, int line,
                             const std::string& message) {
            if (level == pb::LOGLEVEL_FATAL)
                std::fprintf(stderr, "[libprotobuf FATAL %s:%d] %s\n", file, line, message.c_str());
        });
        return true;
    }();
    (void)quiet;
    proto_options o;
    if (v.root() != nullptr) {
        o.schema_path = v.opt_str("schema_path");
        o.descriptor_set_path = v.opt_str("descriptor_set_path");
        o.message_type = v.opt_str("message_type");
        if (v.has("include_paths"))
            o.include_paths = v.list("include_paths");
        o.use_any_wrapper = v.boolean("use_any_wrapper");
        o.preserve_unknown_fields = v.boolean("preserve_unknown_fields");
        o.json_field_names = v.boolean("json_field_names");
        o.field_mappings = v.map("field_mappings");
        o.max_depth = static_cast<int>(v.integer("max_depth"));
        if (v.has("schema_registry_url") || v.has("descriptor_set"))
            return fail(errc::invalid_argument,
                        "proto: schema_registry_url and inline descriptor_set are not supported");
    }
    if ((o.schema_path || o.descriptor_set_path) && !o.message_type)
        return fail(errc::invalid_argument, "proto: message_type is required with a schema");
    auto c = std::make_unique<proto_codec>(std::move(o), paths);
    TRIB_TRY(c->init());
    return std::unique_ptr<codec>(std::move(c));
}

}  // namespace trib::codecs
