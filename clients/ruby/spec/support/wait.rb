# frozen_string_literal: true

# Polls a condition with a deadline instead of sleeping for a guessed time.
module Wait
  DEADLINE = 10.0 # seconds; generous for a loaded CI machine

  def wait_until(what, timeout: DEADLINE)
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + timeout
    until (result = yield)
      raise "timed out after #{timeout}s waiting for #{what}" if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline

      sleep 0.002
    end
    result
  end
end
