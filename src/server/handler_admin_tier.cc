#include "server/handler_admin_tier.h"

#include "core/json_writer.h"
#include "store/store.h"
#include "server/server.h"

namespace loge::server {

HttpResponse HandleAdminRotate(store::Store* store, HttpRequest&) {
  auto counts = store->RunCatalogWorkerNow();
  if (!counts.ok()) return ErrorFromStatus(counts.status());
  JsonWriter w;
  w.BeginObject();
  w.Key("status");
  w.String("success");
  w.Key("data");
  w.BeginObject();
  for (const auto& [name, n] : *counts) {
    w.Key(name);
    w.Int(n);
  }
  w.EndObject();
  w.EndObject();
  HttpResponse r;
  r.body = w.Take();
  return r;
}

}  // namespace loge::server
