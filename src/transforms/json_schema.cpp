// json_schema (Tributary's; Iggy has no JSON Schema transform): validates each record against a
// JSON Schema compiled at start (codecs/json_schema.h). A record that does not validate goes to
// the connector's error policy with the failing instance's JSON pointer and keyword.

#include "codecs/json_schema.h"

#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include "transforms/json_schema.h"
#include "transforms/transform.h"

namespace trib::transforms {

namespace {

class json_schema_transform final : public transform {
  public:
    explicit json_schema_transform(codecs::json_schema_validator v) : v_(std::move(v)) {}
    std::string_view name() const override { return "json_schema"; }
    result<verdict> apply(codecs::record& rec, codecs::arena&,
                          const transform_context&) const override {
        if (auto st = v_.validate(rec); !st) {
            // The chain names the transform in its errors ("json_schema: ..."): drop the
            // validator's own prefix so the dead letter does not say it twice.
            std::string m = st.error().message();
            constexpr std::string_view prefix = "json_schema: ";
            if (m.starts_with(prefix))
                m.erase(0, prefix.size());
            return unexpected(codecs::bad_payload(std::move(m)));
        }
        return verdict::keep;
    }

  private:
    codecs::json_schema_validator v_;
};

}  // namespace

config::spec json_schema_spec() {
    config::spec s;
    s.name = "json_schema";
    s.kind = config::spec_kind::transform;
    s.summary = "Validates records against a JSON Schema (drafts 2020-12 and 7).";
    s.description =
        "The schema is compiled at start: invalid JSON, an unsupported keyword "
        "(unevaluatedProperties, unevaluatedItems, $dynamicRef, $dynamicAnchor, $anchor, "
        "minContains, maxContains), a remote $ref or a pattern RE2 cannot compile stops the "
        "runtime with exit code 2. A record that does not validate goes to the connector's error "
        "policy with the JSON pointer of the failing value and the keyword in the message. JSON "
        "records are validated in place; text and raw records are parsed as JSON; typed records "
        "(msgpack, csv, proto, bson) are validated in their JSON form. `format` is an annotation "
        "(not asserted). Not in Iggy's runtime.";
    s.options = {
        config::optional_opt("schema_json", config::opt_type::string, "The schema, inline."),
        config::optional_opt("schema_path", config::opt_type::string, "A file holding the schema."),
        [] {
            auto o =
                config::opt("draft", config::opt_type::enumeration,
                            "The draft; auto: the schema's $schema, else 2020-12.", "\"auto\"");
            o.choices = {"auto", "2020-12", "7"};
            return o;
        }(),
    };
    s.check = [](const config::values& v, const config::check_report& report) {
        if (v.has("schema_json") == v.has("schema_path"))
            report("schema_json", "give exactly one of schema_json and schema_path");
    };
    s.example =
        "[transforms.json_schema]\nenabled = true\nschema_path = \"schemas/order.json\"\n"
        "draft = \"2020-12\"";
    return s;
}

result<std::unique_ptr<transform>> make_json_schema(const config::values& v) {
    std::string text;
    if (auto p = v.opt_str("schema_path")) {
        std::ifstream f(*p, std::ios::binary);
        if (!f)
            return fail(errc::invalid_argument, "json_schema: cannot read schema_path " + *p);
        std::ostringstream ss;
        ss << f.rdbuf();
        text = ss.str();
    } else {
        text = v.str("schema_json");
    }
    TRIB_ASSIGN_OR_RETURN(auto draft, codecs::parse_json_schema_draft(v.str("draft")));
    TRIB_ASSIGN_OR_RETURN(auto compiled, codecs::json_schema_validator::compile(text, draft));
    return std::unique_ptr<transform>(std::make_unique<json_schema_transform>(std::move(compiled)));
}

}  // namespace trib::transforms
