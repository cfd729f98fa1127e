# Measures the BEAM side of the comparison: spawn and memory of 1M idle processes,
# send+receive throughput, and Registry.lookup with 200K keys. Needs Elixir (Debian: elixir).
# Run: ERL_FLAGS="+P 2000000" elixir benchmarks/beam_anchor.exs (python -m benchmarks does)
defmodule B do
  def idle, do: (receive do :stop -> :ok end)
  def spawn_n(0, acc), do: acc
  def spawn_n(n, acc), do: spawn_n(n - 1, [spawn(&idle/0) | acc])
  def count(0, parent), do: send(parent, :done)
  def count(k, parent), do: (receive do _ -> count(k - 1, parent) end)
  def send_n(_c, 0), do: :ok
  def send_n(c, i), do: (send(c, i); send_n(c, i - 1))
  def lookups(_k, 0), do: :ok
  def lookups(k, i), do: (Registry.lookup(R, rem(i, k) + 1); lookups(k, i - 1))
  def run do
    n = 1_000_000
    :erlang.garbage_collect()
    m0 = :erlang.memory(:processes)
    t0 = System.monotonic_time(:microsecond)
    pids = spawn_n(n, [])
    t1 = System.monotonic_time(:microsecond)
    m1 = :erlang.memory(:processes)
    IO.puts("BEAM spawn #{n} idle processes: #{Float.round((t1 - t0) / 1000, 1)} ms, #{div(m1 - m0, n)} B/process")
    Enum.each(pids, &send(&1, :stop))
    parent = self()
    msgs = 5_000_000
    c = spawn(fn -> count(msgs, parent) end)
    t0 = System.monotonic_time(:microsecond)
    send_n(c, msgs)
    receive do :done -> :ok end
    t1 = System.monotonic_time(:microsecond)
    IO.puts("BEAM send+receive: #{Float.round(msgs / ((t1 - t0) / 1_000_000) / 1_000_000, 2)} M msg/s")
    {:ok, _} = Registry.start_link(keys: :unique, name: R, partitions: 2)
    k = 200_000
    ps = for i <- 1..k, do: spawn(fn -> Registry.register(R, i, nil); idle() end)
    Process.sleep(2000)
    t0 = System.monotonic_time(:microsecond)
    lookups(k, 1_000_000)
    t1 = System.monotonic_time(:microsecond)
    IO.puts("Elixir Registry.lookup at #{Registry.count(R)} keys: #{Float.round((t1 - t0) * 1000 / 1_000_000, 0)} ns/lookup")
    Enum.each(ps, &send(&1, :stop))
  end
end
B.run()
