
X
{app="web", env="prod"}
─Бо╙∙ О:hello world!
│Бо╙second
trace_idabc