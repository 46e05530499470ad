# frozen_string_literal: true

require_relative "lib/loge/version"

Gem::Specification.new do |s|
  s.name = "loge"
  s.version = Loge::VERSION
  s.summary = "Ship Ruby and Rails logs to a loge server"
  s.description = "An asynchronous, batching ::Logger that pushes JSON lines to loge's " \
                  "/api/v1/push, with a bounded drop-oldest buffer, retries with backoff, " \
                  "and a Railtie that broadcasts Rails.logger to it. Standard library only."
  s.authors = ["loge developers"]
  s.files = Dir["lib/**/*.rb"]
  s.require_paths = ["lib"]
  s.required_ruby_version = ">= 2.7"
  # No runtime dependencies: logger, json, net/http and uri are Ruby's own.
  # rspec (and railties, for the Railtie spec) are test-only.
end
