// avro_convert (Iggy's transform, same option names): Avro <-> JSON inside a chain, on the avro
// codec (codecs/avro.cpp) with the transform's own schema options.

#include <map>

#include "codecs/avro.h"
#include "codecs/json_dom.h"
#include "codecs/value.h"
#include "transforms/convert_util.h"
#include "transforms/transform.h"

namespace trib::transforms {

namespace {

class avro_convert final : public transform {
  public:
    avro_convert(std::unique_ptr<codecs::codec> avro, std::string source, std::string target,
                 std::map<std::string, std::string> mappings)
        : avro_(std::move(avro)),
          source_(std::move(source)),
          target_(std::move(target)),
          mappings_(std::move(mappings)) {}

    std::string_view name() const override { return "avro_convert"; }

    result<verdict> apply(codecs::record& rec, codecs::arena& a,
                          const transform_context&) const override {
        if (source_ == target_)
            return verdict::keep;
        if (source_ == "raw" && target_ == "avro")
            return verdict::keep;  // Iggy relabels raw bytes as Avro: nothing to convert
        if (source_ == "avro")
            TRIB_TRY(from_avro(rec, a));
        else
            TRIB_TRY(to_avro(rec, a));
        rec.modified = true;
        return verdict::keep;
    }

  private:
    // Iggy applies each mapping once to the top-level fields, in both directions.
    void rename(codecs::json_value& j, codecs::arena& a) const {
        if (mappings_.empty() || !j.IsObject())
            return;
        for (auto it = j.MemberBegin(); !codecs::is_end(it, j.MemberEnd()); ++it) {
            auto m = mappings_.find(std::string(it->name.GetString(), it->name.GetStringLength()));
            if (m != mappings_.end())
                it->name.SetString(m->second.data(), static_cast<unsigned>(m->second.size()),
                                   codecs::allocator_of(a));
        }
    }

    // Avro bytes (a raw/text record: the stream's schema is raw) -> a JSON record, or text.
    status from_avro(codecs::record& rec, codecs::arena& a) const {
        if (rec.kind != codecs::record_kind::raw && rec.kind != codecs::record_kind::text)
            return codecs::bad_payload(
                "avro_convert: source_format = \"avro\" needs the payload bytes (stream schema = "
                "\"raw\"), got a " +
                std::string(codecs::to_string(rec.kind)) + " record");
        codecs::record typed;
        TRIB_TRY(avro_->decode(rec.bytes, a, typed));
        TRIB_TRY(codecs::typed_to_json_record(typed, a));
        rename(codecs::json_of(typed), a);
        return emit_json(target_, typed, a, rec);
    }

    // A JSON record (or JSON text in a raw/text record) -> Avro bytes in a raw record.
    status to_avro(codecs::record& rec, codecs::arena& a) const {
        codecs::record in;
        TRIB_TRY(json_input(rec, a, in));
        if (rec.kind == codecs::record_kind::typed) {
            TRIB_TRY(codecs::typed_to_json_record(in, a));
        }
        if (!mappings_.empty() && in.kind == codecs::record_kind::json) {
            // Rename a copy: the original record stays as it was if encoding fails.
            codecs::json_value* j = a.get().new_value();
            j->CopyFrom(codecs::json_of(in), codecs::allocator_of(a));
            rename(*j, a);
            codecs::set_json(in, j);
        }
        std::string bytes;
        TRIB_TRY(avro_->encode(in, a, bytes));
        set_raw_bytes(rec, a, bytes);
        return ok();
    }

    std::unique_ptr<codecs::codec> avro_;
    std::string source_, target_;
    std::map<std::string, std::string> mappings_;
};

}  // namespace

config::spec avro_convert_spec() {
    config::spec s = codecs::avro_codec_spec();
    s.name = "avro_convert";
    s.kind = config::spec_kind::transform;
    s.summary = "Converts between Avro and JSON (Iggy's avro_convert).";
    s.description =
        "source_format = \"avro\": the payload bytes (stream schema = \"raw\") are decoded with "
        "the schema options below (those of the avro codec) and become a JSON record "
        "(target_format = \"json\") or its JSON text (\"text\", \"raw\"). target_format = "
        "\"avro\": a JSON record (or JSON text) is encoded and becomes the payload bytes (use "
        "stream schema = \"raw\" so that they are written as they are); source_format = "
        "\"raw\" passes the bytes through as Iggy does. field_mappings renames top-level "
        "fields (old = \"new\") after decoding or before encoding, each once, as Iggy does. A "
        "payload that does not convert goes to the error policy (Iggy passes unsupported "
        "pairs through unchanged). conversion_options (pretty_json, include_metadata, "
        "strict_mode) are accepted and have no effect, as in Iggy.";
    // extract_as_json belongs to the stream codec, not to the transform.
    s.options.erase(
        std::remove_if(s.options.begin(), s.options.end(),
                       [](const config::option& o) { return o.name == "extract_as_json"; }),
        s.options.end());
    auto src = config::opt_or_absent("source_format", config::opt_type::enumeration,
                                     "Format of the input.", "\"avro\"");
    src.choices = {"avro", "json", "text", "raw"};
    auto dst = config::opt_or_absent("target_format", config::opt_type::enumeration,
                                     "Format of the output.", "\"json\"");
    dst.choices = {"json", "text", "raw", "avro"};
    auto co = config::opt_or_absent("conversion_options", config::opt_type::table,
                                    "Iggy's conversion options.", std::nullopt);
    co.children = {
        config::opt_or_absent("pretty_json", config::opt_type::boolean, "Accepted (no effect).",
                              "false"),
        config::opt_or_absent("include_metadata", config::opt_type::boolean,
                              "Accepted (no effect, as in Iggy).", "false"),
        config::opt_or_absent("strict_mode", config::opt_type::boolean, "Accepted (no effect).",
                              "false"),
    };
    s.options.insert(s.options.begin(), {src, dst});
    s.options.push_back(co);
    s.check = [](const config::values& v, const config::check_report& report) {
        const std::string a = v.str("source_format"), b = v.str("target_format");
        if (a != b && a != "avro" && b != "avro")
            report("target_format", "one of source_format and target_format must be \"avro\"");
        int n = 0;
        for (const char* k : {"schema_json", "schema_path", "avro_schema_json", "avro_schema_path"})
            n += v.has(k) ? 1 : 0;
        if (n > 1)
            report("schema_json",
                   "give one of schema_json, schema_path, avro_schema_json and "
                   "avro_schema_path");
        const bool needs = a != b && !(a == "raw" && b == "avro");
        if (n == 0 && needs)
            report("schema_json", "a schema is required (schema_json or schema_path)");
    };
    s.example =
        "[transforms.avro_convert]\nenabled = true\nsource_format = \"avro\"\n"
        "target_format = \"json\"\nschema_path = \"schemas/user.avsc\"";
    return s;
}

result<std::unique_ptr<transform>> make_avro_convert(const config::values& v) {
    const std::string src = v.str("source_format"), dst = v.str("target_format");
    std::unique_ptr<codecs::codec> codec;
    if (src != dst && !(src == "raw" && dst == "avro")) {
        TRIB_ASSIGN_OR_RETURN(codec,
                              codecs::make_avro_codec(v, codecs::avro_field_mappings::ignored));
    }
    std::map<std::string, std::string> mappings;
    if (v.has("field_mappings"))
        mappings = v.map("field_mappings");
    return std::unique_ptr<transform>(
        std::make_unique<avro_convert>(std::move(codec), src, dst, std::move(mappings)));
}

}  // namespace trib::transforms
