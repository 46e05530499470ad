# frozen_string_literal: true

$LOAD_PATH.unshift(File.expand_path("../lib", __dir__))
require "loge"
require_relative "support/fake_loge"
require_relative "support/wait"

RSpec.configure do |config|
  config.include Wait
  config.disable_monkey_patching!
  config.order = :random
  config.expect_with(:rspec) { |c| c.syntax = :expect }
end
