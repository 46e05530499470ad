# frozen_string_literal: true

module Loge
  VERSION = "0.1.0"
end
