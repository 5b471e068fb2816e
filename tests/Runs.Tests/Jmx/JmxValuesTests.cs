using Constellation.Runs.Jmx;

namespace Constellation.Runs.Tests.Jmx;

public sealed class JmxValuesTests
{
    [Fact]
    public void Evaluate_VariablesPropertiesDefaultsAndNesting()
    {
        var values = new JmxValues(new Dictionary<string, string> { ["host"] = "127.0.0.2", ["list"] = "a,b" });
        values.Define("scheme", "http");
        values.Define("fallbackPort", "8080");
        var problems = new List<string>();

        values.Evaluate("${scheme}://${__P(host,localhost)}:${__P(port,${fallbackPort})}/", problems).ShouldBe("http://127.0.0.2:8080/");
        values.Evaluate("${__property(list,,x)} ${__P(sep,\\,)} plain", problems).ShouldBe("a,b , plain");
        problems.ShouldBeEmpty();
        values.UsedProperties.ShouldBe(new SortedDictionary<string, string> { ["host"] = "127.0.0.2", ["list"] = "a,b", ["port"] = "8080", ["sep"] = "," });
    }

    [Fact]
    public void Evaluate_WhatCannotBeEvaluated_IsReported_AndLeftAsItWas()
    {
        var values = new JmxValues(new Dictionary<string, string>());
        var problems = new List<string>();

        values.Evaluate("/item/${id}?n=${__Random(1,9)}&p=${__P(port)}", problems).ShouldBe("/item/${id}?n=${__Random(1,9)}&p=${__P(port)}");

        problems.Count.ShouldBe(3);
        problems[0].ShouldContain("variable ${id} is not defined");
        problems[1].ShouldContain("function ${__Random(1,9)} cannot be evaluated");
        problems[2].ShouldContain("property 'port' has no default");
    }

    [Fact]
    public void JavaProperties_ReadsTheFormats()
    {
        var p = JavaProperties.Parse("""
            # comment
            ! another
            host=127.0.0.2
            port : 8080
            name   spin demo
            path=/a\
                 /b
            escaped\=key=x\ty
            unicode=\u00e9
            empty=
            """);

        p.ShouldBe(new Dictionary<string, string>
        {
            ["host"] = "127.0.0.2",
            ["port"] = "8080",
            ["name"] = "spin demo",
            ["path"] = "/a/b",
            ["escaped=key"] = "x\ty",
            ["unicode"] = "é",
            ["empty"] = string.Empty,
        });
    }
}
