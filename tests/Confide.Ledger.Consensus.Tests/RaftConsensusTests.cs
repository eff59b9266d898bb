using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Confide.Ledger.Consensus.Tests;

/// <summary>Three Raft nodes on 127.0.0.1 in this process, known by IP or by name: order, failover, replay.</summary>
public sealed class RaftConsensusTests : IAsyncDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("confide-raft-tests-").FullName;
    private readonly IPEndPoint[] _endPoints = [Free(), Free(), Free()];
    private readonly RaftConsensus?[] _nodes = new RaftConsensus?[3];
    private readonly RecordingMachine[] _machines = [new(), new(), new()];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Every_node_applies_the_same_entries_in_the_same_order_and_a_new_leader_carries_on()
    {
        for (int i = 0; i < 3; i++)
        {
            await StartAsync(i);
        }

        IConsensus leader = await LeaderAsync();
        var positions = new List<LogPosition>();
        for (int n = 0; n < 50; n++)
        {
            positions.Add(await leader.AppendAsync(leader.Term, Encoding.UTF8.GetBytes($"entry {n}"), context: n, Ct));
        }

        Assert.Equal(positions.OrderBy(p => p.Index), positions);
        await leader.WaitForAppliedAsync(positions[^1].Index, Ct);
        foreach (int i in Enumerable.Range(0, 3))
        {
            await _nodes[i]!.WaitForAppliedAsync(positions[^1].Index, Ct);
        }

        string[] expected = _machines[0].Payloads();
        Assert.Contains("entry 49", expected);
        Assert.All(_machines, m => Assert.Equal(expected, m.Payloads()));

        // The leader's own state machine got the context it appended with; followers decode.
        int leaderIndex = Array.FindIndex(_nodes, n => n == leader);
        Assert.Contains(_machines[leaderIndex].Entries, e => e.Context is 49);

        // Stop the leader: the two others elect a new one in a later term, which appends after the old entries.
        await _nodes[leaderIndex]!.DisposeAsync();
        _nodes[leaderIndex] = null;
        IConsensus next = await LeaderAsync();
        LogPosition after = await next.AppendAsync(next.Term, "after failover"u8.ToArray(), null, Ct);
        Assert.True(after.Term > positions[^1].Term, $"{after} after {positions[^1]}");
        Assert.True(after.Index > positions[^1].Index);
        await next.WaitForAppliedAsync(after.Index, Ct);

        // Restart the old leader from its log: it replays, then catches up with what it missed.
        _machines[leaderIndex] = new RecordingMachine();
        await StartAsync(leaderIndex);
        await _nodes[leaderIndex]!.WaitForAppliedAsync(after.Index, Ct);
        int other = Array.FindIndex(_nodes, n => n == next);
        Assert.Equal(_machines[other].Payloads().Take(_machines[leaderIndex].Payloads().Length), _machines[leaderIndex].Payloads());
        Assert.Contains("after failover", _machines[leaderIndex].Payloads());
    }

    [Fact]
    public async Task Concurrent_appends_share_engine_entries_and_every_node_applies_them_in_append_order()
    {
        for (int i = 0; i < 3; i++)
        {
            await StartAsync(i);
        }

        IConsensus leader = await LeaderAsync();

        // Queued in call order without awaiting, as the ledger node does under its lock: the
        // appends made while the first batch is written go into later engine entries together.
        var appending = new List<Task<LogPosition>>();
        for (int n = 0; n < 400; n++)
        {
            appending.Add(leader.AppendAsync(leader.Term, Encoding.UTF8.GetBytes($"batched {n}"), context: n, Ct).AsTask());
        }

        LogPosition[] positions = await Task.WhenAll(appending);
        Assert.Equal(positions.OrderBy(p => p.Index), positions);
        Assert.True(positions.Select(p => p.Index).Distinct().Count() < positions.Length / 4, $"{positions.Select(p => p.Index).Distinct().Count()} engine entries for {positions.Length} appends");
        foreach (RaftConsensus? node in _nodes)
        {
            await node!.WaitForAppliedAsync(positions[^1].Index, Ct);
        }

        string[] expected = [.. Enumerable.Range(0, 400).Select(n => $"batched {n}")];
        Assert.All(_machines, m => Assert.Equal(expected, m.Payloads()));

        // Each payload arrives with its own context on the leader, and the index of its engine entry everywhere.
        int leaderIndex = Array.FindIndex(_nodes, n => n == leader);
        Assert.Equal(Enumerable.Range(0, 400).Cast<object?>(), _machines[leaderIndex].Entries.Where(e => !e.Payload.IsEmpty).Select(e => e.Context));
        Assert.All(_machines, m => Assert.Equal(positions.Select(p => p.Index), m.Entries.Where(e => !e.Payload.IsEmpty).Select(e => e.Index)));
    }

    [Fact]
    public async Task A_follower_refuses_to_append_and_names_the_leader()
    {
        for (int i = 0; i < 3; i++)
        {
            await StartAsync(i);
        }

        IConsensus leader = await LeaderAsync();
        IConsensus follower = _nodes.First(n => n != leader)!;
        await follower.WaitForLeaderAsync(TimeSpan.FromSeconds(30), Ct); // known from the leader's first heartbeat
        NotLeaderException refused = await Assert.ThrowsAsync<NotLeaderException>(() => follower.AppendAsync(follower.Term, "x"u8.ToArray(), null, Ct).AsTask());
        Assert.Equal(leader.LocalEndPoint, refused.Leader);

        // The leader itself refuses a payload built for a term it does not lead (it would be applied as another view's).
        await Assert.ThrowsAsync<NotLeaderException>(() => leader.AppendAsync(leader.Term + 1, "y"u8.ToArray(), null, Ct).AsTask());
        await Assert.ThrowsAsync<NotLeaderException>(() => leader.AppendAsync(leader.Term - 1, "z"u8.ToArray(), null, Ct).AsTask());
    }

    [Fact]
    public async Task Members_named_by_dns_listen_on_loopback_elect_replicate_and_name_the_leader_by_its_name()
    {
        // Each node listens on 127.0.0.1 and is known to the others only as localhost:port.
        EndPoint[] names = [.. _endPoints.Select(e => new DnsEndPoint("localhost", e.Port))];
        for (int i = 0; i < 3; i++)
        {
            await StartAsync(i, names);
        }

        IConsensus leader = await LeaderAsync();
        Assert.Contains(leader.LocalEndPoint, names);
        var positions = new List<LogPosition>();
        for (int n = 0; n < 20; n++)
        {
            positions.Add(await leader.AppendAsync(leader.Term, Encoding.UTF8.GetBytes($"named {n}"), context: n, Ct));
        }

        foreach (RaftConsensus? node in _nodes)
        {
            await node!.WaitForAppliedAsync(positions[^1].Index, Ct);
        }

        string[] expected = [.. Enumerable.Range(0, 20).Select(n => $"named {n}")];
        Assert.All(_machines, m => Assert.Equal(expected, m.Payloads()));

        // Followers know the leader by the same name, and a refusal names it as host:port.
        IConsensus follower = _nodes.First(n => n != leader)!;
        Assert.Equal(leader.LocalEndPoint, await follower.WaitForLeaderAsync(TimeSpan.FromSeconds(10), Ct));
        NotLeaderException refused = await Assert.ThrowsAsync<NotLeaderException>(() => follower.AppendAsync(follower.Term, "x"u8.ToArray(), null, Ct).AsTask());
        Assert.Equal(leader.LocalEndPoint, refused.Leader);
        Assert.Contains($"the leader is localhost:{((DnsEndPoint)leader.LocalEndPoint).Port}", refused.Message, StringComparison.Ordinal);

        // The two others elect a new leader among the names and carry on.
        int leaderIndex = Array.FindIndex(_nodes, n => n == leader);
        await _nodes[leaderIndex]!.DisposeAsync();
        _nodes[leaderIndex] = null;
        IConsensus next = await LeaderAsync();
        Assert.Contains(next.LocalEndPoint, names);
        LogPosition after = await next.AppendAsync(next.Term, "after failover"u8.ToArray(), null, Ct);
        await next.WaitForAppliedAsync(after.Index, Ct);
        Assert.Contains("after failover", _machines[Array.FindIndex(_nodes, n => n == next)].Payloads());
    }

    [Fact]
    public async Task Members_in_another_form_than_the_compared_one_or_without_this_node_are_refused()
    {
        EndPoint[] names = [.. _endPoints.Select(e => new DnsEndPoint("localhost", e.Port))];

        // A name in capitals or with an address family would be another member for the engine.
        EndPoint[] capitals = [new DnsEndPoint("LocalHost", _endPoints[0].Port), names[1], names[2]];
        EndPoint[] family = [new DnsEndPoint("localhost", _endPoints[0].Port, AddressFamily.InterNetwork), names[1], names[2]];
        await Assert.ThrowsAsync<ArgumentException>(() => CreateAsync(0, capitals, capitals[0]));
        await Assert.ThrowsAsync<ArgumentException>(() => CreateAsync(0, family, family[0]));

        ArgumentException missing = await Assert.ThrowsAsync<ArgumentException>(() => CreateAsync(0, names[1..], names[0]));
        Assert.Contains($"public endpoint localhost:{_endPoints[0].Port}", missing.Message, StringComparison.Ordinal);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (RaftConsensus? node in _nodes)
        {
            if (node is not null)
            {
                await node.DisposeAsync();
            }
        }

        Directory.Delete(_root, recursive: true);
    }

    /// <param name="names">The members' public endpoints; null: their listening endpoints.</param>
    private async Task StartAsync(int i, EndPoint[]? names = null)
    {
        _nodes[i] = await CreateAsync(i, names ?? _endPoints, names?[i]);
        await _nodes[i]!.StartAsync(Ct);
    }

    private Task<RaftConsensus> CreateAsync(int i, EndPoint[] members, EndPoint? publicEndPoint) =>
        RaftConsensus.CreateAsync(new RaftConsensusOptions
        {
            EndPoint = _endPoints[i],
            PublicEndPoint = publicEndPoint,
            Members = members,
            LogDirectory = Path.Combine(_root, $"node{i}"),
            LowerElectionTimeout = TimeSpan.FromMilliseconds(600),
            UpperElectionTimeout = TimeSpan.FromMilliseconds(1200),
            // Short elections keep the tests quick; a longer wait for answers keeps a busy moment
            // of this 2-core machine from deposing a healthy leader mid-test (see RequestTimeout).
            RequestTimeout = TimeSpan.FromSeconds(2),
        }, _machines[i], cancellationToken: Ct);

    private async Task<IConsensus> LeaderAsync()
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        while (true)
        {
            if (_nodes.FirstOrDefault(n => n is not null && n.IsLeader) is { } leader)
            {
                return leader;
            }

            await Task.Delay(50, timeout.Token);
        }
    }

    private static IPEndPoint Free() => Confide.Tests.LoopbackPorts.NextEndPoint();

    private sealed class RecordingMachine : IReplicatedStateMachine
    {
        public ConcurrentQueue<CommittedEntry> Entries { get; } = new();

        public ValueTask ApplyAsync(CommittedEntry entry, CancellationToken cancellationToken)
        {
            Entries.Enqueue(entry with { Payload = entry.Payload.ToArray() });
            return ValueTask.CompletedTask;
        }

        /// <summary>The application entries (the engine's no-ops are empty).</summary>
        public string[] Payloads() => [.. Entries.Where(e => !e.Payload.IsEmpty).Select(e => Encoding.UTF8.GetString(e.Payload.Span))];
    }
}
